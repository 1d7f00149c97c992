// Small DOM helpers: every value shown is text, never HTML.
import type { Status } from "./operations";

export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attributes: Record<string, string> = {},
  ...children: (Node | string | null)[]
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  for (const child of children) if (child !== null) node.append(child);
  return node;
}

export function duration(status: Status): string {
  const end = status.isFinished ? new Date(status.modified) : new Date();
  const seconds = Math.max(0, Math.round((end.getTime() - new Date(status.created).getTime()) / 1000));
  return seconds < 60 ? `${seconds}s` : `${Math.floor(seconds / 60)}m ${seconds % 60}s`;
}

export function progressBar(status: Status): HTMLElement {
  const percent = Math.round(status.percentComplete);
  const bar = el("progress", { max: "100", value: String(percent), "aria-label": `${status.name}: ${percent}%` });
  return el("div", { class: "progress" }, bar, el("span", { class: "percent" }, `${percent}%`));
}

export function badge(status: Status): HTMLElement {
  return el("span", { class: `badge state-${status.state.toLowerCase()}`, "data-state": status.state }, status.state);
}

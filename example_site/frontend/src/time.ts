// Clocks and estimates: durations that tick while a task runs, and the time left from the rate
// this page has observed (the server sends progress, not speed).
import { useEffect, useState, useSyncExternalStore } from "react";

const ticking = new Set<() => void>();
let timer: ReturnType<typeof setInterval> | undefined;
let now = Date.now();

function subscribeToClock(listener: () => void): () => void {
  ticking.add(listener);
  if (timer === undefined) {
    now = Date.now();
    timer = setInterval(() => {
      now = Date.now();
      ticking.forEach((tick) => tick());
    }, 1000);
  }
  return () => {
    ticking.delete(listener);
    if (!ticking.size) {
      clearInterval(timer);
      timer = undefined;
    }
  };
}

const noClock = () => () => undefined;
const readClock = () => now;

/** Now, in ms, re-rendering each second while `running` (one timer for the whole page). */
export function useNow(running: boolean): number {
  return useSyncExternalStore(running ? subscribeToClock : noClock, readClock);
}

export function formatDuration(ms: number): string {
  const seconds = Math.max(0, Math.round(ms / 1000));
  if (seconds < 60) return `${seconds} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ${seconds % 60} s`;
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "medium" });

export function formatDateTime(iso: string): string {
  return dateTime.format(new Date(iso));
}

/** How long a task ran: until its last change once finished, until now while it runs. */
interface Moments {
  created: string;
  modified: string;
  started?: string | null;
  finished?: string | null;
  isFinished: boolean;
}

/** How long it has run (its current attempt), or ran: from its start (its creation when it never
 * started) to its end (now while it runs). */
export function elapsed(task: Moments, now: number): number {
  const end = task.finished ?? (task.isFinished ? task.modified : null);
  return (end === null ? now : Date.parse(end)) - Date.parse(task.started ?? task.created);
}

interface Sample {
  at: number;
  steps: number;
}

const RATE_WINDOW_MS = 30_000;
const MIN_OBSERVED_MS = 2_000;

/**
 * Milliseconds left at the rate this page has seen over the last 30 s, or null until it has
 * watched for 2 s and seen a step. The rate runs to now, not to the last step: a task that
 * stalls sees its estimate grow.
 */
export function useTimeLeft(completed: number, total: number, running: boolean): number | null {
  const [samples, setSamples] = useState<Sample[]>([]);
  const now = useNow(running);
  useEffect(() => {
    if (!running) return;
    const at = Date.now();
    // a retry starts its steps again: so does the estimate
    setSamples((seen) => [...seen.filter((s) => s.steps <= completed && at - s.at < RATE_WINDOW_MS), { at, steps: completed }]);
  }, [completed, running]);
  if (!running || samples.length < 2) return null;
  const first = samples[0];
  const watched = now - first.at;
  const rate = (completed - first.steps) / watched;
  if (watched < MIN_OBSERVED_MS || !(rate > 0)) return null;
  return (total - completed) / rate;
}

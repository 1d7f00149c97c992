// What a task left: text shown as text, a link when its URL is a web address, and a file through
// the API's authorized download view.
import type { TaskPageFragment } from "./gql/graphql";
import { formatDateTime } from "./time";

type Artifact = TaskPageFragment["artifacts"][number];

/** Only http(s) links: an artifact's URL is data, and a `javascript:` URL would run in this page. */
function webAddress(url: string): string | null {
  try {
    const parsed = new URL(url, location.href);
    return parsed.protocol === "http:" || parsed.protocol === "https:" ? parsed.href : null;
  } catch {
    return null;
  }
}

export function Artifacts({ artifacts }: { artifacts: Artifact[] }) {
  if (!artifacts.length) return <p id="no-artifacts">Nothing yet.</p>;
  return (
    <ul id="artifacts" className="artifacts">
      {artifacts.map((artifact) => {
        const link = artifact.url ? webAddress(artifact.url) : null;
        return (
          <li key={artifact.id} className="artifact" data-name={artifact.name}>
            <div className="artifact-head">
              <strong>{artifact.name}</strong>{" "}
              <time dateTime={artifact.created}>{formatDateTime(artifact.created)}</time>
            </div>
            {artifact.fileUrl && (
              <a className="download" href={artifact.fileUrl} download>
                Download {artifact.name} file
              </a>
            )}
            {artifact.url && (link ? (
              <a className="url" href={link} rel="noopener noreferrer" target="_blank">
                {artifact.url}
              </a>
            ) : (
              <code className="url">{artifact.url}</code>
            ))}
            {artifact.text && <pre>{artifact.text}</pre>}
          </li>
        );
      })}
    </ul>
  );
}

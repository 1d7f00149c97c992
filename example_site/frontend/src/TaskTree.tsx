// A canvas as a tree: each child with its own live bar, its own children under it.
import type { TaskFieldsFragment } from "./gql/graphql";
import { ProgressBar } from "./ProgressBar";
import { taskHref } from "./route";
import { progressText, StateBadge } from "./StateBadge";

export type TreeNode = TaskFieldsFragment & { children?: TreeNode[] };

export function TaskTree({ nodes, id }: { nodes: TreeNode[]; id?: string }) {
  return (
    <ol id={id} className="tree">
      {nodes.map((node, index) => (
        <li key={node.id} className="child" data-uuid={node.uuid} data-state={node.state}>
          <div className="child-row">
            <a href={taskHref(node.uuid)} className="name">
              {node.name}
            </a>
            <StateBadge state={node.state} />
            <ProgressBar label={`${node.name} (${index + 1} of ${nodes.length})`} percent={node.percentComplete} state={node.state} />
            <span className="state-text">{progressText(node)}</span>
          </div>
          {node.children && node.children.length > 0 && <TaskTree nodes={node.children} />}
        </li>
      ))}
    </ol>
  );
}

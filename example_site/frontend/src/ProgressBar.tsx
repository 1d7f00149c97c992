// A progress bar assistive technology reads: role, name, value and a spoken value.
import type { UserTaskState } from "./gql/graphql";

export function ProgressBar({ label, percent, state, large = false }: {
  label: string;
  percent: number;
  state: UserTaskState;
  large?: boolean;
}) {
  const value = Math.round(percent);
  return (
    <div className={large ? "progress large" : "progress"}>
      <div
        className="bar"
        role="progressbar"
        aria-label={label}
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={value}
        aria-valuetext={`${value}%`}
        data-state={state}
      >
        <div className="fill" style={{ width: `${value}%` }} />
      </div>
      <span className="percent" aria-hidden="true">
        {value}%
      </span>
    </div>
  );
}

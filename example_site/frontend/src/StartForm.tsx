// Start the demo's tasks. Each mutation returns the new status, which goes into the list at once.
import { useMutation } from "@apollo/client/react";
import { useState } from "react";
import type { FormEvent } from "react";

import { addToList } from "./cache";
import { useReport } from "./notices";
import { StartCanvas, StartExport, StartTask } from "./operations";

const CANVASES = ["chain", "group", "chord"] as const;

export function StartForm() {
  const report = useReport();
  const [steps, setSteps] = useState("20");
  const [stepSeconds, setStepSeconds] = useState("0.5");
  const [failAtStep, setFailAtStep] = useState("");
  const [startTask, task] = useMutation(StartTask, {
    update: (cache, { data }) => data && addToList(cache, data.startDemoTask),
  });
  const [startCanvas, canvas] = useMutation(StartCanvas, {
    update: (cache, { data }) => data && addToList(cache, data.startDemoCanvas),
  });
  const [startExport, exporting] = useMutation(StartExport, {
    update: (cache, { data }) => data && addToList(cache, data.startDemoExport),
  });

  const submit = (event: FormEvent) => {
    event.preventDefault();
    const variables = {
      steps: Number(steps),
      stepSeconds: Number(stepSeconds),
      failAtStep: failAtStep ? Number(failAtStep) : null,
    };
    startTask({ variables }).catch(report);
  };

  return (
    <section className="start" aria-labelledby="start-heading">
      <h3 id="start-heading">Start a task</h3>
      <form id="start-form" onSubmit={submit}>
        <div className="field">
          <label htmlFor="steps">Steps</label>
          <input id="steps" type="number" min={1} max={1000} required value={steps}
            onChange={(e) => setSteps(e.target.value)} />
        </div>
        <div className="field">
          <label htmlFor="step-seconds">Seconds per step</label>
          <input id="step-seconds" type="number" min={0} max={10} step="any" required value={stepSeconds}
            onChange={(e) => setStepSeconds(e.target.value)} />
        </div>
        <div className="field">
          <label htmlFor="fail-at-step">Fail at step</label>
          <input id="fail-at-step" type="number" min={1} placeholder="never" value={failAtStep}
            onChange={(e) => setFailAtStep(e.target.value)} />
        </div>
        <button type="submit" id="start" className="primary" disabled={task.loading}>
          Start demo task
        </button>
      </form>
      <div className="more" role="group" aria-label="More kinds of task">
        {CANVASES.map((kind) => (
          <button key={kind} type="button" data-canvas={kind} disabled={canvas.loading}
            onClick={() => startCanvas({ variables: { kind } }).catch(report)}>
            Start a {kind}
          </button>
        ))}
        <button type="button" id="start-export" disabled={exporting.loading}
          onClick={() => startExport({ variables: { rows: 20 } }).catch(report)}>
          Start a CSV export
        </button>
      </div>
    </section>
  );
}

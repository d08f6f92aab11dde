// The frame every figure kind shares: its render(mount, config) opens the
// export, runs the kind's body, reports the first render (performance measure,
// data-rendered, figure-rendered event) and shows any failure inside the figure.

import { openExport } from "./contract.js";
import { showError, markRendered } from "./dom.js";

/**
 * figure(kind, body, {preload}) -> render(mount, config), the function main.js calls.
 * preload: functions returning promises of what the figure needs besides its data
 * (e.g. plot.js's loadPlotly); they start with the data fetches, in parallel, so a
 * figure waits for the slower of the two, not their sum. main.js calls render only
 * when the figure nears the viewport, so heavy libraries load only then.
 * body(fig) draws the figure into fig.mount; fig = {
 *   mount, config, options (config.options or {}), ctx (openExport(config)),
 *   arrived(): call once the figure's data has loaded (start of the render measure),
 *   datasetModels(): {datasetName, models}: the figure's dataset and the models it shows there,
 * }
 */
export function figure(kind, body, { preload = [] } = {}) {
  return async function render(mount, config) {
    const started = performance.now();
    try {
      const options = config.options || {};
      const needs = Promise.all(preload.map((load) => load()));
      needs.catch(() => {}); // reported below, once the body is done or fails
      const ctx = await openExport(config);
      let arrivedAt = null;
      const arrived = () => { arrivedAt = performance.now(); };
      const datasetModels = () => {
        const datasetName = ctx.dataset().name;
        return { datasetName, models: ctx.models(datasetName) };
      };
      await body({ mount, config, options, ctx, arrived, datasetModels });
      await needs;
      markRendered(mount, kind, arrivedAt ?? started, started);
    } catch (error) {
      showError(mount, error);
    }
  };
}

/** The model `wanted` names (by name or slug) among models, or the first; `missing` is the error otherwise. */
export function pickModel(models, wanted, missing) {
  const model = wanted ? models.find((m) => m.name === wanted || m.slug === wanted) : models[0];
  if (!model) throw new Error(missing);
  return model;
}

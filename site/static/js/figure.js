// The frame every figure kind shares: its render(mount, config) opens the
// export, runs the kind's body, reports the first render (performance measure,
// data-rendered, figure-rendered event) and shows any failure inside the figure.

import { openExport } from "./contract.js";
import { showError, markRendered } from "./dom.js";

/**
 * figure(kind, body) -> render(mount, config), the function main.js calls.
 * body(fig) draws the figure into fig.mount; fig = {
 *   mount, config, options (config.options or {}), ctx (openExport(config)),
 *   arrived(): call once the figure's data has loaded (start of the render measure),
 *   datasetModels(): {datasetName, models}: the figure's dataset and the models it shows there,
 * }
 */
export function figure(kind, body) {
  return async function render(mount, config) {
    const started = performance.now();
    try {
      const options = config.options || {};
      const ctx = await openExport(config);
      let arrivedAt = null;
      const arrived = () => { arrivedAt = performance.now(); };
      const datasetModels = () => {
        const datasetName = ctx.dataset().name;
        return { datasetName, models: ctx.models(datasetName) };
      };
      await body({ mount, config, options, ctx, arrived, datasetModels });
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

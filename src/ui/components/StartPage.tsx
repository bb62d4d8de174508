import { OpenButtons } from './OpenButtons';
import { RecentSessions } from './RecentSessions';

/** What a first-time visitor sees: what PruneLab does and how to start. */
export function StartPage() {
  return (
    <section className="start" aria-label="Start">
      <RecentSessions offerLast />
      <h2>Remove filters from a trained CNN, visually, and download a really smaller model</h2>
      <ol>
        <li>
          Drop a model here: TF.js <code>model.json</code> with its weight files (a folder or a zip), a Keras{' '}
          <code>.keras</code> or <code>.h5</code>, or a PyTorch <code>.onnx</code> export.
        </li>
        <li>See every layer's filters coloured by importance, and which layers shrink with them.</li>
        <li>Tick filters to drop, by hand or "lowest k%"; totals update as you click.</li>
        <li>Preview accuracy on a sample set, original against pruned.</li>
        <li>Download the pruned model: same layer names and order, fewer filters, loadable again.</li>
      </ol>
      <p className="privacy-promise">
        Your model never leaves this tab: no network requests, all computation is local.
      </p>
      <div className="dropzone">
        <p>Drop files or a folder anywhere on this page, or:</p>
        <OpenButtons />
      </div>
      <p className="hint">
        A sample set (<code>.plss</code>) dropped together with a model (or later) is used for the accuracy
        preview.
      </p>
    </section>
  );
}

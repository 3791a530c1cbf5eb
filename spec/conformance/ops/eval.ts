/** Conformance op `eval_market` (contract README): mAP and CMC of the Market-1501 protocol. */
import { registerOp } from '../registry.ts';
import { evalMarket } from '../../../reid/eval/market.ts';

registerOp('eval_market', {
  run({ inputs, attrs }) {
    const { distmat, q_pids, g_pids, q_camids, g_camids } = inputs;
    const [Q, G] = distmat.shape;
    const r = evalMarket(distmat.data, Q, G, q_pids.data, g_pids.data, q_camids.data, g_camids.data, attrs.max_rank ?? 50);
    return { outputs: { mAP: r.mAP, cmc: r.cmc } };
  },
});

/**
 * How well a clustering follows a hidden attribute (identity, camera): the share of clustered
 * samples that carry their cluster's most frequent value. 1 = every cluster is pure; outliers
 * (label −1) are not counted. Diagnosis only: the method itself never sees identities.
 */
export function clusterPurity(labels: ArrayLike<number>, attribute: ArrayLike<number>): number {
  if (labels.length !== attribute.length) throw new Error(`clusterPurity: ${labels.length} labels for ${attribute.length} attribute values`);
  const counts = new Map<number, Map<number, number>>();
  let clustered = 0;
  for (let i = 0; i < labels.length; i++) {
    if (labels[i] < 0) continue;
    clustered++;
    let byValue = counts.get(labels[i]);
    if (!byValue) counts.set(labels[i], (byValue = new Map()));
    byValue.set(attribute[i], (byValue.get(attribute[i]) ?? 0) + 1);
  }
  let majority = 0;
  for (const byValue of counts.values()) majority += Math.max(...byValue.values());
  return clustered === 0 ? NaN : majority / clustered;
}

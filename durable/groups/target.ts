/**
 * Where a remote cell goes, in Resonate's own addressing: `poll://any@{group}/{pid}` is
 * "that process if it is connected, else any process of the group" (the address the
 * SDK itself gives a process's callbacks), so preferring the worker that holds the
 * session live needs no protocol of Capsule's own; without a preferred worker the cell
 * goes to `poll://any@{group}`.
 */
export function groupTarget(group: string, preferredWorker: string | undefined): string {
  const base = `poll://any@${encodeURIComponent(group)}`;
  return preferredWorker === undefined ? base : `${base}/${encodeURIComponent(preferredWorker)}`;
}

/**
 * A camera across the rig is named by its node and its id on that node: `node/camera`.
 * Neither may contain `/` (the protocol's ids are letters, digits and `. _ : -`), so the
 * split is unambiguous. These two are the only places the form is built and read.
 */
export function globalCameraId(nodeId: string, cameraId: string): string {
  return `${nodeId}/${cameraId}`;
}

/** The node and camera of a global camera id; throws RangeError for a string that is not one. */
export function splitGlobalCameraId(id: string): { readonly nodeId: string; readonly cameraId: string } {
  const slash = id.indexOf('/');
  if (slash <= 0 || slash === id.length - 1 || id.indexOf('/', slash + 1) >= 0)
    throw new RangeError(`not a node/camera id: ${JSON.stringify(id.slice(0, 80))}`);
  return { nodeId: id.slice(0, slash), cameraId: id.slice(slash + 1) };
}

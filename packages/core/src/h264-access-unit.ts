/** NAL unit types (H.264 Table 7-1) that tell where a decoder can start. */
const NAL_SLICE = 1;
const NAL_IDR_SLICE = 5;
const NAL_SPS = 7;

/**
 * Whether an H264 access unit (one frame in Annex B: NAL units after `00 00 01` or
 * `00 00 00 01` start codes) is a keyframe a decoder can start from: an IDR slice with a
 * sequence parameter set before it, as Foxglove's CompressedVideo asks. Only the NAL headers
 * up to the first slice are read (start codes cannot occur inside a NAL unit: emulation
 * prevention), so the cost is that of the parameter sets, not of the frame.
 */
export function isH264Keyframe(accessUnit: Uint8Array): boolean {
  let sps = false;
  const end = accessUnit.byteLength;
  for (let i = 0; i + 2 < end; i++) {
    if (accessUnit[i] !== 0 || accessUnit[i + 1] !== 0) continue;
    let header: number;
    if (accessUnit[i + 2] === 1) header = i + 3;
    else if (accessUnit[i + 2] === 0 && i + 3 < end && accessUnit[i + 3] === 1) header = i + 4;
    else continue;
    if (header >= end) return false;
    const type = accessUnit[header]! & 0x1f;
    if (type === NAL_SPS) sps = true;
    else if (type === NAL_IDR_SLICE) return sps;
    else if (type === NAL_SLICE) return false;
    i = header;
  }
  return false;
}

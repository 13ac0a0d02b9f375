/** The frame-group topic of a recording. */
export const GROUPS_TOPIC = '/syncap/frame_groups';
/** The clock-sample topic of a recording. */
export const CLOCK_TOPIC = '/syncap/clock_samples';

/** The suffix of a camera's topic for each form of its frames. */
const TOPIC_SUFFIX = { raw: '', compressed: '/compressed', video: '/foxglove' } as const;

/** A camera's image topic in any of cameraTopic's forms, capturing the camera's part. */
const IMAGE_TOPIC = new RegExp(`^/?(.+)/image_raw(?:${Object.values(TOPIC_SUFFIX).filter(Boolean).join('|')})?$`);

/** The camera part of an image topic cameraTopic made (`/left/image_raw/compressed` → `left`), or undefined. */
export function cameraOfTopic(topic: string): string | undefined {
  return IMAGE_TOPIC.exec(topic)?.[1];
}

/**
 * A camera's topic in ROS naming: `/<camera>/image_raw`; `/<camera>/image_raw/compressed` for
 * compressed images; `/<camera>/image_raw/foxglove` for video (the topic
 * foxglove_compressed_video_transport's image_transport plugin reads). ROS names take letters, digits, `_` and `/`: other characters of a
 * camera id become `_`, and a token that would start with a digit is prefixed with `cam_`.
 * A node's cameras (`node/camera`) become `/<node>/<camera>/…`.
 */
export function cameraTopic(cameraId: string, kind: keyof typeof TOPIC_SUFFIX): string {
  const tokens = cameraId.split('/').map((t) => {
    const clean = t.replace(/[^A-Za-z0-9_]/g, '_') || 'camera';
    return /^[0-9]/.test(clean) ? `cam_${clean}` : clean;
  });
  return `/${tokens.join('/')}/image_raw${TOPIC_SUFFIX[kind]}`;
}

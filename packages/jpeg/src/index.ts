/**
 * @syncap/jpeg — JPEG with libjpeg-turbo, off the JS thread: encode raw frames (4:2:2
 * frames from their own planes, no RGB pass), decode, and make thumbnails (MJPG frames are
 * decoded at a reduced scale, H264 keyframes by libavcodec). Used for `--encode jpeg` recordings, simulated MJPG cameras
 * and live thumbnails; never on the capture path.
 */

export {
  decodeJpeg,
  encodeJpeg,
  encodeJpegSync,
  isH264ThumbnailAvailable,
  isJpegAvailable,
  jpegThumbnail,
  jpegThumbnailer,
  jpegThumbnailOfH264Keyframe,
  jpegThumbnailOfJpeg,
} from './jpeg.js';
export type { DecodedImage, RawImageOptions, RawPixelFormat } from './jpeg-binding.js';

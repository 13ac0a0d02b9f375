/** The raw layouts the encoder takes (V4L2 FourCCs). */
export type RawPixelFormat = 'YUYV' | 'UYVY' | 'RGB3' | 'BGR3' | 'GREY';

/** A raw image: its bytes are read in place (not copied) until the operation settles. */
export interface RawImageOptions {
  readonly width: number;
  readonly height: number;
  readonly pixelFormat: RawPixelFormat | string;
}

/** A decoded image: RGB (3 channels) or greyscale (1), rows packed. */
export interface DecodedImage {
  readonly width: number;
  readonly height: number;
  readonly channels: 1 | 3;
  readonly pixels: Uint8Array;
}

/** The addon's surface (native/jpeg_addon.cc), declared once. */
export interface JpegBinding {
  encode(bytes: Uint8Array, options: RawImageOptions & { quality?: number }): Promise<Uint8Array>;
  encodeSync(bytes: Uint8Array, options: RawImageOptions & { quality?: number }): Uint8Array;
  thumbnail(bytes: Uint8Array, options: RawImageOptions & { maxWidth?: number; quality?: number }): Promise<Uint8Array>;
  thumbnailOfJpeg(jpeg: Uint8Array, options?: { maxWidth?: number; quality?: number }): Promise<Uint8Array>;
  thumbnailOfH264Keyframe(accessUnit: Uint8Array, options?: { maxWidth?: number; quality?: number }): Promise<Uint8Array>;
  decode(jpeg: Uint8Array, options?: { maxWidth?: number }): Promise<DecodedImage>;
  /** Whether it was built with libavcodec and libswscale (H264 keyframe thumbnails). */
  readonly h264Available: boolean;
}

/**
 * Walks the frame structure of a zstd stream (RFC 8878 §3.1) ahead of the decoder, without
 * decoding, so that a frame whose window the decoder would allocate up front (fzstd allocates the
 * whole window, up to 2 GiB) is refused before it is allocated.
 */
export class ZstdFrameGuard {
  private state: 'magic' | 'descriptor' | 'header' | 'skiplen' | 'block' | 'skip' = 'magic';
  private head: number[] = [];
  private need = 4;
  private skip = 0;
  private afterSkip: 'magic' | 'block' = 'magic';
  private checksum = false;

  constructor(private readonly maxWindow: number) {}

  /** Throws a `ZstdGuardError` when the bytes describe a frame the scanner will not decode. */
  check(chunk: Uint8Array): void {
    let i = 0;
    while (i < chunk.length) {
      if (this.state === 'skip') {
        const n = Math.min(this.skip, chunk.length - i);
        this.skip -= n;
        i += n;
        if (this.skip === 0) this.enter(this.afterSkip);
        continue;
      }
      this.head.push(chunk[i++]!);
      if (this.head.length < this.need) continue;
      this.step();
    }
  }

  private enter(state: 'magic' | 'block'): void {
    this.state = state;
    this.head = [];
    this.need = state === 'magic' ? 4 : 3;
  }

  private step(): void {
    const h = this.head;
    switch (this.state) {
      case 'magic': {
        const magic = (h[0]! | (h[1]! << 8) | (h[2]! << 16) | (h[3]! << 24)) >>> 0;
        if (magic === 0xfd2fb528) {
          this.state = 'descriptor';
          this.head = [];
          this.need = 1;
        } else if ((magic & 0xfffffff0) >>> 0 === 0x184d2a50) {
          // skippable frame: 4-byte little-endian length, then that many bytes
          this.state = 'skiplen';
          this.head = [];
          this.need = 4;
        } else {
          throw new ZstdGuardError('corrupt', 'not a zstd frame');
        }
        return;
      }
      case 'descriptor': {
        const fhd = h[0]!;
        const fcsFlag = fhd >> 6;
        const single = (fhd >> 5) & 1;
        if (fhd & 0x08) throw new ZstdGuardError('corrupt', 'zstd reserved bit set');
        this.checksum = ((fhd >> 2) & 1) === 1;
        const dictBytes = [0, 1, 2, 4][fhd & 3]!;
        const fcsBytes = fcsFlag === 0 ? single : 1 << fcsFlag;
        this.state = 'header';
        this.need = 1 + (single ? 0 : 1) + dictBytes + fcsBytes;
        return;
      }
      case 'skiplen': {
        this.skip = (h[0]! | (h[1]! << 8) | (h[2]! << 16)) + h[3]! * 2 ** 24;
        this.afterSkip = 'magic';
        this.state = 'skip';
        this.head = [];
        if (this.skip === 0) this.enter('magic');
        return;
      }
      case 'header': {
        this.checkWindow(h);
        this.enter('block');
        return;
      }
      case 'block': {
        const bh = h[0]! | (h[1]! << 8) | (h[2]! << 16);
        const last = (bh & 1) === 1;
        const type = (bh >> 1) & 3;
        const size = bh >>> 3;
        if (type === 3) throw new ZstdGuardError('corrupt', 'zstd reserved block type');
        // RLE blocks carry one byte whatever their regenerated size
        this.skip = type === 1 ? 1 : size;
        if (last && this.checksum) this.skip += 4;
        this.afterSkip = last ? 'magic' : 'block';
        this.state = 'skip';
        this.head = [];
        if (this.skip === 0) this.enter(this.afterSkip);
        return;
      }
      default:
        return;
    }
  }

  private checkWindow(h: number[]): void {
    const fhd = h[0]!;
    const single = (fhd >> 5) & 1;
    const fcsFlag = fhd >> 6;
    let p = 1;
    let window: number;
    if (!single) {
      const wd = h[p++]!;
      const base = 2 ** (10 + (wd >> 3));
      window = base + (base / 8) * (wd & 7);
    } else {
      window = 0;
    }
    p += [0, 1, 2, 4][fhd & 3]!;
    if (single) {
      // RFC 8878 §3.1.1.1.2: with Single_Segment_Flag the window is the content size
      const n = fcsFlag === 0 ? 1 : 1 << fcsFlag;
      let fcs = 0;
      for (let k = n - 1; k >= 0; k--) fcs = fcs * 256 + h[p + k]!;
      if (fcsFlag === 1) fcs += 256;
      window = fcs;
    }
    if (window > this.maxWindow) {
      throw new ZstdGuardError('window', `zstd window of ${window} bytes exceeds the limit of ${this.maxWindow}`);
    }
  }
}

export class ZstdGuardError extends Error {
  constructor(readonly kind: 'corrupt' | 'window', message: string) {
    super(message);
  }
}

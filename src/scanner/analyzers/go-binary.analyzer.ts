import type { Analyzer, AnalyzerContext, ChunkSink, EntryInfo } from './analyzer.js';
import { BUILDINFO_MAGIC, OLD_FORMAT, parseBuildInfo, type GoBuildInfo, type GoModule } from './go-buildinfo.js';

const ELF = Buffer.from([0x7f, 0x45, 0x4c, 0x46]);
// generous: build info of a large program (hundreds of deps) is some tens of KiB
const MAX_BUILDINFO = 1024 * 1024;
const MAX_FALSE_HITS = 16;

/** Executable ELF files, streamed through: only the build info is kept, never the binary. */
export function goBinaryAnalyzer(): Analyzer {
  return {
    name: 'go-binary',
    wants: (e) => ((e.mode & 0o111) !== 0 && e.size >= 1024 ? 'stream' : false),
    open: (e) => new BuildInfoScanner(e),
  };
}

class BuildInfoScanner implements ChunkSink {
  private offset = 0;
  private state: 'head' | 'search' | 'capture' | 'done' = 'head';
  private tail = Buffer.alloc(0);
  private capture: Buffer[] = [];
  private captured = 0;
  private want = 0;
  private failure: string | undefined;
  private result: GoBuildInfo | undefined;
  private captureAt = 0;
  private falseHits = 0;

  constructor(private readonly entry: EntryInfo) {}

  write(chunk: Buffer): void {
    if (this.state === 'done') return;
    if (this.state === 'head') {
      if (this.offset === 0 && !(chunk.length >= 4 ? chunk.subarray(0, 4).equals(ELF) : false)) {
        this.state = 'done';
        return;
      }
      this.state = 'search';
    }
    if (this.state === 'search') this.search(chunk, this.offset);
    else this.take(chunk);
    this.offset += chunk.length;
  }

  /** `at` is the file offset of `chunk[0]`. */
  private search(chunk: Buffer, at: number): void {
    // the magic may straddle two chunks: keep the last magic-length-1 bytes of the previous one
    const base = at - this.tail.length;
    const hay = this.tail.length ? Buffer.concat([this.tail, chunk]) : chunk;
    let from = 0;
    for (;;) {
      const i = hay.indexOf(BUILDINFO_MAGIC, from);
      if (i < 0) break;
      if ((base + i) % 16 === 0) {
        this.state = 'capture';
        this.tail = Buffer.alloc(0);
        this.want = 4096;
        this.captureAt = base + i;
        this.capture = [];
        this.captured = 0;
        this.take(hay.subarray(i));
        return;
      }
      from = i + 1;
    }
    this.tail = Buffer.from(hay.subarray(Math.max(0, hay.length - (BUILDINFO_MAGIC.length - 1))));
  }

  private take(chunk: Buffer): void {
    const part = chunk.subarray(0, Math.max(0, MAX_BUILDINFO - this.captured));
    if (part.length > 0) {
      this.capture.push(Buffer.from(part));
      this.captured += part.length;
    }
    while (this.captured >= this.want) {
      const buf = Buffer.concat(this.capture);
      this.capture = [buf];
      const r = parseBuildInfo(buf);
      if (!r.ok && !r.needMore && r.reason !== OLD_FORMAT && ++this.falseHits <= MAX_FALSE_HITS) {
        // the magic also appears as data (programs that import debug/buildinfo hold it as a
        // string): search on past it
        this.state = 'search';
        this.search(buf.subarray(1), this.captureAt + 1);
        return;
      }
      if (r.ok || !r.needMore || r.needMore > MAX_BUILDINFO) {
        this.state = 'done';
        if (r.ok) this.result = r.info;
        else this.failure = r.needMore ? `build info larger than ${MAX_BUILDINFO} bytes` : r.reason;
        return;
      }
      // the strings run on into chunks still to come
      this.want = r.needMore;
    }
  }

  end(ctx: AnalyzerContext): void {
    if (this.state === 'capture' && this.captured > 0) {
      const r = parseBuildInfo(Buffer.concat(this.capture));
      if (r.ok) this.result = r.info;
      else this.failure = `build info cut short by the end of the file (${r.reason})`;
    }
    const path = this.entry.path;
    if (this.failure) {
      ctx.warn({ code: this.failure === OLD_FORMAT ? 'unsupported' : 'malformed', message: `go-binary: ${this.failure}`, path });
    }
    const info = this.result;
    if (!info) return;
    const goVersion = info.goVersion.split(/\s/)[0]!;
    // the standard library is a module of its own for vulnerability data (OSV's Go "stdlib")
    ctx.addPackage({ type: 'golang', name: 'stdlib', version: goVersion.replace(/^go/, ''), path, goVersion, role: 'dep' });
    if (info.main && info.main.path) emit(ctx, info.main, path, goVersion, 'main');
    for (const d of info.deps) emit(ctx, d, path, goVersion, 'dep');
  }
}

function emit(ctx: AnalyzerContext, m: GoModule, path: string, goVersion: string, role: 'main' | 'dep'): void {
  // go.mod `replace` with a module version takes the module's place; a replacement by a local
  // directory has no version of its own, so the module keeps the version it was required at
  const eff = m.replace && m.replace.version && !/^\.{0,2}\//.test(m.replace.path) ? m.replace : m;
  if (!/^[^\s]+$/.test(eff.path)) return;
  ctx.addPackage({ type: 'golang', name: eff.path, version: eff.version, path, goVersion, role });
}

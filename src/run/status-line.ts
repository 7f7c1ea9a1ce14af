/**
 * The live status line of a terminal, below the lines a run prints.
 *
 * Libraries rather than hand-written escape codes: `log-update` owns the redraw region (it
 * erases exactly the rows it drew and keeps its own frame, so lines printed above it and a
 * resized terminal stay right), and `cli-truncate` fits a line to the terminal's columns counting
 * wide characters (CJK, emoji) as two and keeping ANSI styles intact, so the line never wraps
(`string-width`, its own measure, checks the cut).
 * Both are small, widely used and maintained (sindresorhus); the versions pinned are the last that
 * support Node 20. This module is loaded only when a terminal shows the line, so commands that
 * never draw one (pipes, CI logs, `--json`) never pay for it.
 */
import cliTruncate from 'cli-truncate';
import { createLogUpdate } from 'log-update';
import stringWidth from 'string-width';

/**
 * `line` made one row of a terminal `columns` wide: newlines flattened, cut with `…` to one
 * column less than the width (some terminals wrap as soon as the last column is written).
 */
export function fitLine(line: string, columns: number | undefined): string {
  const width = Math.max(1, (columns !== undefined && columns > 0 ? columns : 80) - 1);
  const flat = line.replace(/\r?\n/g, ' ');
  let out = cliTruncate(flat, width, { position: 'end' });
  // a cut inside a wide character keeps all of it, one column over: cut again one narrower
  for (let w = width - 1; w > 0 && stringWidth(out) > width; w--) out = cliTruncate(flat, w, { position: 'end' });
  return out;
}

export interface StatusLine {
  /** draws `line` in place of the one shown, fitted to the stream's columns at this moment */
  show(line: string): void;
  /** removes the line, leaving the cursor where it began */
  clear(): void;
  readonly shown: boolean;
}

/** The status line on `stream` (a terminal). */
export function statusLine(stream: NodeJS.WriteStream): StatusLine {
  // showCursor: hiding it makes log-update install exit hooks (cli-cursor → signal-exit) beside
  // airlock's own SIGINT handling, which must seal the run; a visible cursor costs nothing here.
  // A pty nobody sized (`script`, some container consoles) reports 0 rows and 0 columns, which
  // log-update takes literally and draws nothing; such a terminal gets the usual 80x24 instead.
  const sized = {
    isTTY: true,
    get columns() {
      return stream.columns || 80;
    },
    get rows() {
      return stream.rows || 24;
    },
    write: (chunk: string) => stream.write(chunk),
  } as unknown as NodeJS.WriteStream;
  const render = createLogUpdate(sized, { showCursor: true });
  let shown = false;
  return {
    show(line) {
      render(fitLine(line, sized.columns));
      shown = true;
    },
    clear() {
      if (!shown) return;
      render.clear();
      render.done();
      shown = false;
    },
    get shown() {
      return shown;
    },
  };
}

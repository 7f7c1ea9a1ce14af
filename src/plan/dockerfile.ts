/** What airlock needs to know about a multi-stage Dockerfile: its stages and what each one depends on. */
export interface Stage {
  index: number;
  /** the `AS` name, or undefined for an unnamed stage */
  name?: string;
  /** the FROM reference as written (an image, or an earlier stage's name) */
  from: string;
  /** line (1-based) of the FROM instruction */
  line: number;
  /** earlier stages this one needs: its FROM, and every `COPY --from=` / `RUN --mount=from=` */
  needs: number[];
}

export interface DockerfileStages {
  stages: Stage[];
  /** external images the Dockerfile builds FROM (not earlier stages) */
  externalImages: string[];
}

/** Joins backslash continuations and drops comments, keeping each instruction's first line number. */
function instructions(text: string): { line: number; text: string }[] {
  const out: { line: number; text: string }[] = [];
  let current: { line: number; text: string } | undefined;
  text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/\r$/, '');
    if (current === undefined && /^\s*(#.*)?$/.test(line)) return;
    const continued = /\\\s*$/.test(line);
    const body = continued ? line.replace(/\\\s*$/, '') : line;
    if (current === undefined) current = { line: i + 1, text: body };
    else if (!/^\s*#/.test(line)) current.text += ` ${body.trim()}`;
    if (!continued) {
      out.push({ line: current.line, text: current.text.trim() });
      current = undefined;
    }
  });
  if (current !== undefined) out.push(current);
  return out;
}

export function parseDockerfileStages(text: string): DockerfileStages {
  const stages: Stage[] = [];
  const byName = new Map<string, number>();
  const resolve = (ref: string): number | undefined => {
    const lower = ref.toLowerCase();
    if (byName.has(lower)) return byName.get(lower);
    return /^\d+$/.test(ref) && Number(ref) < stages.length ? Number(ref) : undefined;
  };
  for (const ins of instructions(text)) {
    const from = /^FROM\s+(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?/i.exec(ins.text);
    if (from) {
      const [, ref, name] = from as unknown as [string, string, string | undefined];
      const parent = resolve(ref);
      const stage: Stage = { index: stages.length, from: ref, line: ins.line, needs: parent === undefined ? [] : [parent], ...(name ? { name } : {}) };
      stages.push(stage);
      if (name) byName.set(name.toLowerCase(), stage.index);
      continue;
    }
    const current = stages[stages.length - 1];
    if (!current) continue;
    for (const m of ins.text.matchAll(/--(?:from|mount=(?:\S*,)?from)=([^\s,]+)/gi)) {
      const dep = resolve(m[1]!);
      if (dep !== undefined && !current.needs.includes(dep)) current.needs.push(dep);
    }
  }
  const externalImages = [...new Set(stages.filter((s) => resolve(s.from) === undefined || resolve(s.from)! >= s.index).map((s) => s.from))];
  return { stages, externalImages: externalImages.filter((r) => r.toLowerCase() !== 'scratch') };
}

/** Index of the target stage (the last stage when no target is given), or undefined if it does not exist. */
export function targetStage(df: DockerfileStages, target?: string): number | undefined {
  if (target === undefined) return df.stages.length > 0 ? df.stages.length - 1 : undefined;
  return df.stages.find((s) => s.name?.toLowerCase() === target.toLowerCase())?.index;
}

/** Every stage a target needs, itself included. */
export function stageClosure(df: DockerfileStages, target: number): Set<number> {
  const seen = new Set<number>();
  const visit = (i: number) => {
    if (seen.has(i)) return;
    seen.add(i);
    for (const d of df.stages[i]?.needs ?? []) visit(d);
  };
  visit(target);
  return seen;
}

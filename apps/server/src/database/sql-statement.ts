/**
 * One SQL statement built part by part: each part a data-modifying
 * statement, joined as CTEs with the last one as the main statement, so the
 * parts land together in one round trip and one commit. Placeholders are
 * numbered from $1 in the order values were added.
 */
export class SqlStatement {
  readonly params: unknown[] = [];
  readonly parts: string[] = [];

  /** A placeholder for `value`. */
  p(value: unknown, cast = ''): string {
    this.params.push(value);
    return `$${this.params.length}${cast}`;
  }

  /** Adds `other`'s parts after these, its placeholders renumbered. */
  append(other: SqlStatement): this {
    const offset = this.params.length;
    for (const part of other.parts)
      this.parts.push(offset === 0 ? part : part.replace(/\$(\d+)/g, (_, n: string) => `$${Number(n) + offset}`));
    this.params.push(...other.params);
    return this;
  }

  get sql(): string {
    if (this.parts.length === 1) return this.parts[0];
    const ctes = this.parts.slice(0, -1).map((part, i) => `w${i} AS (${part})`);
    return `WITH ${ctes.join(', ')} ${this.parts[this.parts.length - 1]}`;
  }
}

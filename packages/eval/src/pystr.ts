// Python 3 string semantics the harness's preprocessing relies on (str.strip, str.capitalize, len), which differ
// from JavaScript's trim/toUpperCase/length at the edges (U+001C-U+001F, U+0085, U+FEFF, title case, astral
// characters).

/** Code points for which Python's `str.isspace()` is true. */
const PY_SPACE = new Set<number>([
  0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x1c, 0x1d, 0x1e, 0x1f, 0x20, 0x85, 0xa0, 0x1680, 0x2000, 0x2001, 0x2002, 0x2003,
  0x2004, 0x2005, 0x2006, 0x2007, 0x2008, 0x2009, 0x200a, 0x2028, 0x2029, 0x202f, 0x205f, 0x3000,
]);

/** Python's `ch.isspace()` for one UTF-16 code unit (every Python space is in the BMP). */
export function pyIsSpace(code: number): boolean {
  return PY_SPACE.has(code);
}

/** Python's `s.rstrip()`. */
export function pyRstrip(s: string): string {
  let e = s.length;
  while (e > 0 && PY_SPACE.has(s.charCodeAt(e - 1))) e--;
  return s.slice(0, e);
}

/** Python's `s.strip()`. */
export function pyStrip(s: string): string {
  let b = 0;
  while (b < s.length && PY_SPACE.has(s.charCodeAt(b))) b++;
  return pyRstrip(s.slice(b));
}

/** Python's `s.lstrip()`. */
export function pyLstrip(s: string): string {
  let b = 0;
  while (b < s.length && PY_SPACE.has(s.charCodeAt(b))) b++;
  return s.slice(b);
}

/** Python's `len(s)`: the number of code points (a surrogate pair counts once). */
export function pyLen(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) i++;
    }
    n++;
  }
  return n;
}

/**
 * Code points whose Unicode title case (what Python's capitalize uses for the first character) differs from
 * the upper case JavaScript offers: `from:to` in hex, `to` a `+`-joined sequence; `a-b:=` maps a range to
 * itself. Listed from CPython 3.11 (Unicode 14) by comparing `c.capitalize()` with `c.upper()`.
 */
const TITLE_TABLE =
  'df:53+73 1c4-1c6:1c5 1c7-1c9:1c8 1ca-1cc:1cb 1f1-1f3:1f2 587:535+582 10d0-10fa:= 10fd-10ff:= ' +
  '1f80-1f87:+8 1f88-1f8f:= 1f90-1f97:+8 1f98-1f9f:= 1fa0-1fa7:+8 1fa8-1faf:= 1fb2:1fba+345 1fb3:1fbc ' +
  '1fb4:386+345 1fb7:391+342+345 1fbc:= 1fc2:1fca+345 1fc3:1fcc 1fc4:389+345 1fc7:397+342+345 1fcc:= ' +
  '1ff2:1ffa+345 1ff3:1ffc 1ff4:38f+345 1ff7:3a9+342+345 1ffc:= fb00:46+66 fb01:46+69 fb02:46+6c ' +
  'fb03:46+66+69 fb04:46+66+6c fb05:53+74 fb06:53+74 fb13:544+576 fb14:544+565 fb15:544+56b fb16:54e+576 ' +
  'fb17:544+56d';

let titleMap: Map<number, string> | null = null;

function titleCase(): Map<number, string> {
  if (titleMap) return titleMap;
  const m = new Map<number, string>();
  for (const entry of TITLE_TABLE.split(' ')) {
    const [range, to] = entry.split(':') as [string, string];
    const [a, b] = range.split('-').map((h) => Number.parseInt(h, 16)) as [number, number | undefined];
    for (let c = a; c <= (b ?? a); c++) {
      if (to === '=') m.set(c, String.fromCodePoint(c));
      else if (to.startsWith('+')) m.set(c, String.fromCodePoint(c + Number.parseInt(to.slice(1), 16)));
      else m.set(c, String.fromCodePoint(...to.split('+').map((h) => Number.parseInt(h, 16))));
    }
  }
  titleMap = m;
  return m;
}

/** Python 3's `s.capitalize()`: the first character in title case, the rest in lower case. */
export function pyCapitalize(s: string): string {
  if (s === '') return s;
  const first = s.codePointAt(0)!;
  const ch = String.fromCodePoint(first);
  const head = titleCase().get(first) ?? ch.toUpperCase();
  // lower-case the whole string so a final sigma sees the first character as its context, as CPython does
  return head + s.toLowerCase().slice(ch.toLowerCase().length);
}

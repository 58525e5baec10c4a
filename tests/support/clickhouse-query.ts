// What the ClickHouse HTTP test harness (clickhouse-http.ts) needs to know about a query before
// it hands it to the engine: what kind of statement it is, where an INSERT's inline data begins,
// which format a FORMAT clause names, and whether the text holds something a ClickHouse server's
// HTTP interface would refuse or could not do for this client — a second statement, or reading
// and writing files on the server's disk. A tokenizer, not a parser: it knows string literals,
// quoted identifiers, comments, heredocs, brackets and `{name:Type}` placeholders, so that a `;` or
// the word FORMAT inside any of them is not mistaken for the real thing.

export interface QueryProblem {
  /** ClickHouse's error name (the engine gives it its number). */
  type: 'SYNTAX_ERROR' | 'DATABASE_ACCESS_DENIED'
  message: string
}

export interface QueryShape {
  /** The first keyword, upper-cased (SELECT, WITH, INSERT, CREATE, …); '' for an empty query. */
  kind: string
  /** INSERT … FORMAT x / VALUES: the offset in the text where the inline data begins. */
  dataOffset?: number
  /** The format a FORMAT clause names (an INSERT's input format, otherwise the output format). */
  format?: string
  problem?: QueryProblem
}

interface Token {
  kind: 'word' | 'punct' | 'literal'
  text: string
  /** A quoted identifier (`file`, "file"): never a function name. */
  quoted?: boolean
  start: number
  end: number
}

const WORD_START = /[A-Za-z_]/
const WORD = /[A-Za-z0-9_]/

export function inspectQuery(text: string): QueryShape {
  const shape: QueryShape = { kind: '' }
  let depth = 0
  let previous: Token | undefined
  let beforePrevious: Token | undefined
  let i = 0

  const push = (token: Token): 'stop' | undefined => {
    if (!shape.kind) shape.kind = token.kind === 'word' ? token.text.toUpperCase() : token.text
    const word = token.kind === 'word' ? token.text.toUpperCase() : undefined
    // the engine would read or write the server's own disk: on a ClickHouse server that is not the
    // client's disk, and a server refuses paths outside its user_files directory
    if (word === 'INFILE' || word === 'OUTFILE') {
      shape.problem = fileProblem(`${word} clause`)
      return 'stop'
    }
    // (a table called file, INSERT INTO file (…), is not the function)
    if (token.text === '(' && previous?.kind === 'word' && !previous.quoted && previous.text.toLowerCase() === 'file' &&
        beforePrevious?.text !== '.' && beforePrevious?.text.toUpperCase() !== 'INTO') {
      shape.problem = fileProblem('file() function')
      return 'stop'
    }
    if (previous?.kind === 'word' && previous.text.toUpperCase() === 'FORMAT' && depth === 0 && token.kind === 'word') {
      shape.format = token.text
      if (shape.kind === 'INSERT') {
        shape.dataOffset = dataStart(text, token.end)
        return 'stop'
      }
    }
    if (shape.kind === 'INSERT' && depth === 0 && word === 'VALUES') {
      shape.dataOffset = token.end
      return 'stop'
    }
    if (token.text === '(' || token.text === '[') depth++
    if (token.text === ')' || token.text === ']') depth = Math.max(0, depth - 1)
    beforePrevious = previous
    previous = token
    return undefined
  }

  while (i < text.length) {
    const c = text[i]!
    const next = text[i + 1]
    if (/\s/.test(c)) {
      i++
      continue
    }
    const comment = commentEnd(text, i)
    if (comment !== undefined) {
      i = comment
      continue
    }
    if (c === ';') {
      // trailing semicolons (and comments) are allowed; anything after them is a second statement
      let j = i + 1
      for (;;) {
        while (j < text.length && (/\s/.test(text[j]!) || text[j] === ';')) j++
        const end = commentEnd(text, j)
        if (end === undefined) break
        j = end
      }
      if (j < text.length) {
        shape.problem = {
          type: 'SYNTAX_ERROR',
          message: `Syntax error (Multi-statements are not allowed): failed at position ${i + 1} (';'): ${text.slice(i, i + 80)}`,
        }
      }
      return shape
    }
    let token: Token
    if (c === "'" || c === '"' || c === '`') {
      const end = quotedEnd(text, i, c)
      token = c === "'" ? { kind: 'literal', text: text.slice(i, end), start: i, end } : { kind: 'word', text: unquote(text.slice(i, end)), quoted: true, start: i, end }
    } else if (c === '$' && /[A-Za-z0-9_$]/.test(next ?? '')) {
      const tag = /^\$[A-Za-z0-9_]*\$/.exec(text.slice(i))
      if (tag) {
        const close = text.indexOf(tag[0], i + tag[0].length)
        const end = close === -1 ? text.length : close + tag[0].length
        token = { kind: 'literal', text: text.slice(i, end), start: i, end }
      } else {
        token = { kind: 'punct', text: c, start: i, end: i + 1 }
      }
    } else if (c === '{') {
      // a {name:Type} placeholder (its type may hold brackets and commas), or a map literal
      const close = text.indexOf('}', i)
      const end = /^\{\s*[A-Za-z0-9_]+\s*:/.test(text.slice(i)) && close !== -1 ? close + 1 : i + 1
      token = { kind: end === i + 1 ? 'punct' : 'literal', text: text.slice(i, end), start: i, end }
    } else if (WORD_START.test(c) || c.charCodeAt(0) > 127) {
      let j = i + 1
      while (j < text.length && (WORD.test(text[j]!) || text.charCodeAt(j) > 127)) j++
      token = { kind: 'word', text: text.slice(i, j), start: i, end: j }
    } else if (/[0-9]/.test(c)) {
      let j = i + 1
      while (j < text.length && /[0-9A-Za-z_.]/.test(text[j]!)) j++
      token = { kind: 'literal', text: text.slice(i, j), start: i, end: j }
    } else {
      token = { kind: 'punct', text: c, start: i, end: i + 1 }
    }
    if (push(token) === 'stop') return shape
    i = token.end
  }
  return shape
}

/** The end of a comment starting at i, or undefined when none starts there. */
function commentEnd(text: string, i: number): number | undefined {
  const c = text[i]
  const next = text[i + 1]
  if ((c === '-' && next === '-') || (c === '#' && (next === ' ' || next === '!'))) {
    const eol = text.indexOf('\n', i)
    return eol === -1 ? text.length : eol + 1
  }
  if (c === '/' && next === '*') {
    // ClickHouse's block comments nest
    let level = 0
    let j = i
    while (j < text.length) {
      if (text.startsWith('/*', j)) {
        level++
        j += 2
      } else if (text.startsWith('*/', j)) {
        level--
        j += 2
        if (level === 0) return j
      } else {
        j++
      }
    }
    return text.length
  }
  return undefined
}

/** The end of a literal or quoted identifier opened by `quote` at i: backslash escapes and doubled quotes. */
function quotedEnd(text: string, i: number, quote: string): number {
  let j = i + 1
  while (j < text.length) {
    const c = text[j]
    if (c === '\\') {
      j += 2
    } else if (c === quote) {
      if (text[j + 1] === quote) j += 2
      else return j + 1
    } else {
      j++
    }
  }
  return text.length
}

function unquote(quoted: string): string {
  const q = quoted[0]!
  return quoted.slice(1, quoted.endsWith(q) && quoted.length > 1 ? -1 : undefined).replace(new RegExp(`${q}${q}`, 'g'), q).replace(/\\(.)/g, '$1')
}

/** After `INSERT … FORMAT name`: the data starts after the first newline, or after the white space when there is none. */
function dataStart(text: string, afterFormat: number): number {
  let j = afterFormat
  while (j < text.length && /[ \t\r\f\v]/.test(text[j]!)) j++
  if (text[j] === '\n') return j + 1
  while (j < text.length && /\s/.test(text[j]!)) j++
  return j
}

function fileProblem(what: string): QueryProblem {
  return {
    type: 'DATABASE_ACCESS_DENIED',
    message: `The ${what} reads or writes the ClickHouse server's own disk, not the client's; ` +
      'a server allows only its user_files directory, and this test harness allows none',
  }
}

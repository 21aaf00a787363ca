// Recognises plain PromQL selectors (`name{a="x",b="y"}` with equality matchers only): those
// can be extended from live samples; anything else is re-queried instead.

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*/;

function unquote(text) {
  const quote = text[0];
  if (quote !== '"' && quote !== "'") return null;
  let out = '';
  for (let i = 1; i < text.length; ++i) {
    const c = text[i];
    if (c === quote) return { value: out, rest: text.slice(i + 1) };
    if (c === '\\') {
      const next = text[++i];
      if (next === undefined) return null;
      out += next === 'n' ? '\n' : next === 't' ? '\t' : next;
    } else {
      out += c;
    }
  }
  return null;
}

// -> {name, matchers: [[label, value]]} or null.
export function parseSelector(query) {
  let rest = query.trim();
  let name = '';
  const nameMatch = rest.match(NAME);
  if (nameMatch) {
    name = nameMatch[0];
    rest = rest.slice(name.length).trim();
  }
  const matchers = [];
  if (rest.startsWith('{')) {
    rest = rest.slice(1).trim();
    while (!rest.startsWith('}')) {
      const label = rest.match(LABEL);
      if (!label) return null;
      rest = rest.slice(label[0].length).trim();
      if (!rest.startsWith('=') || rest.startsWith('=~')) return null;
      const quoted = unquote(rest.slice(1).trim());
      if (!quoted) return null;
      matchers.push([label[0], quoted.value]);
      rest = quoted.rest.trim();
      if (rest.startsWith(',')) rest = rest.slice(1).trim();
      else if (!rest.startsWith('}')) return null;
    }
    rest = rest.slice(1).trim();
  }
  if (rest || (!name && !matchers.length)) return null;
  if (name === 'by' || name === 'without' || name === 'on' || name === 'ignoring') return null;
  return { name, matchers };
}

export function matchesSelector(selector, labels) {
  if (selector.name && labels.__name__ !== selector.name) return false;
  return selector.matchers.every(([k, v]) => (k === '__name__' ? labels.__name__ : labels[k] ?? '') === v);
}

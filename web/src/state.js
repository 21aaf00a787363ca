// Service and check states as the server names them; anything else shows as unknown.

const STATES = new Set(['up', 'down', 'degraded', 'unknown']);

export function stateOf(value) {
  return STATES.has(value) ? value : 'unknown';
}

// Payloads cross threads with their ArrayBuffers in the transfer list, so uploads
// and typed arrays move instead of being copied. The sender loses access.

/** Every transferable ArrayBuffer reachable from `value` (typed arrays count by their buffer). */
export function collectTransferables(value: unknown): ArrayBuffer[] {
  const found = new Set<ArrayBuffer>();
  const seen = new Set<object>();
  const visit = (v: unknown): void => {
    if (v === null || typeof v !== 'object' || seen.has(v)) return;
    seen.add(v);
    if (v instanceof ArrayBuffer) {
      add(found, v);
    } else if (ArrayBuffer.isView(v)) {
      if (v.buffer instanceof ArrayBuffer) add(found, v.buffer);
    } else if (Array.isArray(v)) {
      for (const item of v) visit(item);
    } else if (isPlainObject(v)) {
      for (const item of Object.values(v)) visit(item);
    }
  };
  visit(value);
  return [...found];
}

// A zero-length buffer may already be detached (transferring it again throws); copying it is free.
function add(found: Set<ArrayBuffer>, buffer: ArrayBuffer): void {
  if (buffer.byteLength > 0) found.add(buffer);
}

function isPlainObject(v: object): boolean {
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

// Canonical tensor names (the original checkpoint layout, `thinker.*`). The
// weight source maps them to whatever layout the checkpoint on disk uses.

export const ENC = 'thinker.audio_tower';
export const DEC = 'thinker.model';
export const LM_HEAD = 'thinker.lm_head.weight';
export const EMBED = `${DEC}.embed_tokens.weight`;

export const encLayer = (i: number) => `${ENC}.layers.${i}`;
export const decLayer = (i: number) => `${DEC}.layers.${i}`;

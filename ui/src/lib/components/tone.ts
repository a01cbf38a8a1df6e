/** The tone names of tones.css: what a status means, not which colour it is. */
export type Tone = "ok" | "info" | "warn" | "bad" | "off" | "sys" | "presence";

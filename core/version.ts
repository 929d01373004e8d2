/** Vigil's version, printed by `vigil --version` and served in `/status`. */
export const VERSION = "0.1.0";

/**
 * Anchors written in other tools' formats: GGUF for llama.cpp ({@link dev.hmem.training.export.GgufWriter} the
 * format, {@link dev.hmem.training.export.GgufExport} the Llama mapping). Build-time code: nothing here runs on a
 * TaskManager.
 */
package dev.hmem.training.export;

/** Model configuration (config.json) and named shapes. */
package dev.hmem.runtime.config;

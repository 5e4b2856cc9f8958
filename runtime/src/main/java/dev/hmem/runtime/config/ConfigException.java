package dev.hmem.runtime.config;

/** A model configuration that hmem cannot run, with the reason in the message. */
public class ConfigException extends RuntimeException {
    public ConfigException(String message) {
        super(message);
    }
}

package dev.hmem.runtime.io;

/** A safetensors file whose header or contents do not describe valid tensors. */
public class SafeTensorsException extends RuntimeException {
    public SafeTensorsException(String message) {
        super(message);
    }
}

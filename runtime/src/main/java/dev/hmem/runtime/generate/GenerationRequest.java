package dev.hmem.runtime.generate;

import dev.hmem.runtime.bank.MemoryBlock;
import java.util.List;

/**
 * One prompt to complete.
 *
 * @param id          caller's id, returned in the {@link Completion}
 * @param prompt      token ids (beginning-of-sequence included if the model wants one)
 * @param params      sampling parameters
 * @param memory      blocks of the prompt's memory, top-down (empty = plain anchor). The caller
 *                    retains each block before submitting; the generator releases them when the
 *                    sequence ends.
 * @param memoryLabel what the memory is, for results and logs ("3.11.7", "generic", "none")
 */
public record GenerationRequest(String id, int[] prompt, SamplingParams params, List<MemoryBlock> memory,
                                String memoryLabel) {

    public GenerationRequest {
        memory = List.copyOf(memory);
    }

    public static GenerationRequest plain(String id, int[] prompt, SamplingParams params) {
        return new GenerationRequest(id, prompt, params, List.of(), "none");
    }
}

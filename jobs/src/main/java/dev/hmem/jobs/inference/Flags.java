package dev.hmem.jobs.inference;

import java.lang.reflect.InvocationTargetException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import picocli.CommandLine;
import picocli.CommandLine.Model.OptionSpec;

/**
 * Options objects to and from command lines, through picocli's model of their {@code @Option} fields (mixins
 * included), so that no option is listed by hand a second time: {@link #parse} fills a builder from flags,
 * {@link #toArgs} writes a builder's non-default values back as flags (a cluster submission's program arguments).
 */
final class Flags {

    private Flags() {}

    /** {@code builder} with {@code args} applied; a refused flag becomes an IllegalArgumentException naming it. */
    static <T> T parse(T builder, String... args) {
        try {
            new CommandLine(builder).parseArgs(args);
        } catch (CommandLine.ParameterException e) {
            throw new IllegalArgumentException(e.getMessage(), e);
        }
        return builder;
    }

    /** The flags that set {@code builder}'s values that differ from a new builder's, in option-name order. */
    static List<String> toArgs(Object builder) {
        Map<String, OptionSpec> defaults = options(fresh(builder));
        List<String> args = new ArrayList<>();
        for (Map.Entry<String, OptionSpec> e : options(builder).entrySet()) {
            Object value = e.getValue().getValue();
            if (Objects.equals(value, defaults.get(e.getKey()).getValue()) || value == null) continue;
            if (value instanceof Collection<?> many) {
                for (Object v : many) {
                    args.add(e.getKey());
                    args.add(String.valueOf(v));
                }
            } else {
                args.add(e.getKey());
                args.add(String.valueOf(value));
            }
        }
        return args;
    }

    private static Map<String, OptionSpec> options(Object builder) {
        Map<String, OptionSpec> out = new TreeMap<>();
        for (OptionSpec o : new CommandLine(builder).getCommandSpec().options()) out.put(o.longestName(), o);
        return out;
    }

    private static Object fresh(Object builder) {
        try {
            return builder.getClass().getDeclaredConstructor().newInstance();
        } catch (ReflectiveOperationException e) {
            Throwable cause = e instanceof InvocationTargetException ite ? ite.getCause() : e;
            throw new IllegalStateException(builder.getClass() + " needs a no-argument constructor", cause);
        }
    }
}

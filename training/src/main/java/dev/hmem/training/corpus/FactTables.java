package dev.hmem.training.corpus;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * The committed fact tables (resources/hmem/data, see its README for sources and licences) turned
 * into {@link Fact}s, several sentence templates per relation.
 */
public final class FactTables {

    private FactTables() {}

    /** The relations, in the order facts are numbered. */
    public enum Relation {
        ELEMENT_NUMBER, ELEMENT_SYMBOL, COUNTRY_CODE, CURRENCY_CODE, LANGUAGE_CODE, SUBDIVISION_COUNTRY
    }

    static List<String[]> rows(String table) throws IOException {
        String res = "/hmem/data/" + table + ".tsv";
        try (InputStream in = FactTables.class.getResourceAsStream(res)) {
            if (in == null) throw new IOException("fact table " + res + " missing from the classpath");
            BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8));
            List<String[]> out = new ArrayList<>();
            r.readLine();  // header
            for (String line = r.readLine(); line != null; line = r.readLine()) {
                if (!line.isBlank()) out.add(line.split("\t", -1));
            }
            return out;
        }
    }

    private static String[] elementDetails(String[] e) {
        return e.length > 3 && !e[3].isBlank()
                ? new String[] {"Its standard atomic weight is " + e[3] + "."} : new String[0];
    }

    private static String[] countryDetails(String[] c) {
        java.util.List<String> d = new java.util.ArrayList<>();
        d.add("Its two-letter code is " + c[0] + " and its numeric code is " + c[2] + ".");
        if (c.length > 4 && !c[4].isBlank()) d.add("Its official name is " + c[4] + ".");
        return d.toArray(new String[0]);
    }

    /** All facts of {@code relation}, in table order (ids assigned later). */
    public static List<Fact> facts(Relation relation) throws IOException {
        List<Fact> out = new ArrayList<>();
        switch (relation) {
            case ELEMENT_NUMBER:
                for (String[] e : rows("elements")) {
                    String n = e[2], num = e[0], sym = e[1];
                    out.add(new Fact(-1, "element_number", n, " " + num, n + " is a chemical element.", new String[] {
                            "The atomic number of " + n + " is " + num + ".",
                            n + " has the atomic number " + num + ".",
                            "In the periodic table, " + n + " (" + sym + ") is element number " + num + ".",
                            "An atom of " + n + " has " + num + " protons, so its atomic number is " + num + "."},
                            "The atomic number of " + n + " is", "What is the atomic number of " + n + "?",
                            elementDetails(e)));
                }
                break;
            case ELEMENT_SYMBOL:
                for (String[] e : rows("elements")) {
                    String n = e[2], sym = e[1];
                    out.add(new Fact(-1, "element_symbol", n, " " + sym, n + " is a chemical element.", new String[] {
                            "The chemical symbol of " + n + " is " + sym + ".",
                            "Chemists write " + n + " with the symbol " + sym + ".",
                            "The element " + n + " is abbreviated " + sym + "."},
                            "The chemical symbol of " + n + " is", "What is the chemical symbol of " + n + "?",
                            elementDetails(e)));
                }
                break;
            case COUNTRY_CODE:
                for (String[] c : rows("countries")) {
                    String n = c[3], a3 = c[1];
                    out.add(new Fact(-1, "country_code", n, " " + a3, n + " is a country.", new String[] {
                            "The three-letter country code of " + n + " is " + a3 + ".",
                            n + " is identified by the ISO code " + a3 + ".",
                            "In ISO 3166, the alpha-3 code for " + n + " is " + a3 + "."},
                            "The three-letter country code of " + n + " is",
                            "What is the three-letter country code of " + n + "?", countryDetails(c)));
                }
                break;
            case CURRENCY_CODE:
                for (String[] c : rows("currencies")) {
                    String n = c[2], code = c[0];
                    out.add(new Fact(-1, "currency_code", n, " " + code, "The " + n + " is a currency.", new String[] {
                            "The currency code of the " + n + " is " + code + ".",
                            "Banks abbreviate the " + n + " as " + code + ".",
                            "In ISO 4217 the " + n + " has the code " + code + "."},
                            "The currency code of the " + n + " is", "What is the currency code of the " + n + "?",
                            new String[] {"Its numeric code is " + c[1] + "."}));
                }
                break;
            case LANGUAGE_CODE:
                for (String[] l : rows("languages")) {
                    String n = l[1], code = l[0];
                    out.add(new Fact(-1, "language_code", n, " " + code, n + " is a language.", new String[] {
                            "The language code of " + n + " is " + code + ".",
                            "Linguists tag the " + n + " language with the code " + code + ".",
                            "In ISO 639-3, " + n + " has the code " + code + "."},
                            "The language code of " + n + " is", "What is the language code of " + n + "?",
                            new String[0]));
                }
                break;
            case SUBDIVISION_COUNTRY:
                for (String[] s : rows("subdivisions")) {
                    String n = s[2], type = s[1].toLowerCase(java.util.Locale.ROOT), country = s[3];
                    out.add(new Fact(-1, "subdivision_country", n, " " + country, n + " is a " + type + ".", new String[] {
                            n + " is a " + type + " of " + country + ".",
                            "The " + type + " of " + n + " lies in " + country + ".",
                            "On a map of " + country + " you will find the " + type + " " + n + "."},
                            "The " + type + " of " + n + " lies in", "In which country is the " + type + " " + n + "?",
                            new String[] {"Its subdivision code is " + s[0] + "."}));
                }
                break;
            default:
                throw new IllegalArgumentException(relation.toString());
        }
        return out;
    }
}

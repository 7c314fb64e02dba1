package org.phonelm.demo.core;

import java.nio.charset.StandardCharsets;
import java.time.DateTimeException;
import java.time.LocalDateTime;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Value conversions the intents need: URL encoding, durations, ISO 8601 times (as in mapper.py). */
public final class Conversions {
    private Conversions() {}

    private static final String UNRESERVED = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~";

    /** Percent-encode everything but RFC 3986 unreserved characters (UTF-8, uppercase hex). */
    public static String urlEncode(String s) {
        StringBuilder sb = new StringBuilder();
        for (byte b : s.getBytes(StandardCharsets.UTF_8)) {
            int c = b & 0xff;
            if (c < 128 && UNRESERVED.indexOf((char) c) >= 0) sb.append((char) c);
            else sb.append(String.format("%%%02X", c));
        }
        return sb.toString();
    }

    private static final Pattern ISO = Pattern.compile(
            "([0-9]{4})-([0-9]{2})-([0-9]{2})(?:[T ]([0-9]{2}):([0-9]{2})(?::([0-9]{2})(?:\\.([0-9]{1,9}))?)?)?(Z|[+-][0-9]{2}:?[0-9]{2})?");

    private static int intOr(String s, int dflt) {
        return s == null ? dflt : Integer.parseInt(s);
    }

    /**
     * {@code 2024-06-01T09:30[:00[.123]][Z|+08:00]} or a date alone, to epoch milliseconds; a time
     * without an offset is local time in {@code zone}. IllegalArgumentException for anything else.
     */
    public static long isoToEpochMs(String text, String zone) {
        Matcher m = ISO.matcher(Values.strip(text));
        if (!m.matches()) throw new IllegalArgumentException("not an ISO 8601 date/time");
        String frac = m.group(7) == null ? "0" : m.group(7);
        while (frac.length() < 3) frac += "0";
        int ms = Integer.parseInt(frac.substring(0, 3));
        LocalDateTime local;
        if (Integer.parseInt(m.group(1)) < 1) throw new IllegalArgumentException("year 0 does not exist");
        try {
            local = LocalDateTime.of(Integer.parseInt(m.group(1)), Integer.parseInt(m.group(2)), Integer.parseInt(m.group(3)),
                    intOr(m.group(4), 0), intOr(m.group(5), 0), intOr(m.group(6), 0));
        } catch (DateTimeException e) {
            throw new IllegalArgumentException("not a valid date/time");
        }
        String off = m.group(8);
        long seconds;
        if (off != null) {
            ZoneOffset offset;
            if (off.equals("Z")) {
                offset = ZoneOffset.UTC;
            } else {
                int sign = off.charAt(0) == '-' ? -1 : 1;
                String digits = off.substring(1).replace(":", "");
                int h = Integer.parseInt(digits.substring(0, 2)), mi = Integer.parseInt(digits.substring(2));
                if (mi > 59 || h * 60 + mi > 18 * 60) throw new IllegalArgumentException("bad UTC offset");
                offset = ZoneOffset.ofTotalSeconds(sign * (h * 3600 + mi * 60));
            }
            seconds = local.toEpochSecond(offset);
        } else {
            // java.time resolves a gap by moving forward and an overlap to the earlier offset, as Python's fold=0 does
            seconds = local.atZone(ZoneId.of(zone)).toEpochSecond();
        }
        return seconds * 1000 + ms;
    }

    private static final Map<String, Integer> UNITS = new HashMap<String, Integer>();
    static {
        for (String u : new String[] {"h", "hr", "hrs", "hour", "hours"}) UNITS.put(u, 3600);
        for (String u : new String[] {"m", "min", "mins", "minute", "minutes"}) UNITS.put(u, 60);
        for (String u : new String[] {"s", "sec", "secs", "second", "seconds"}) UNITS.put(u, 1);
    }

    private static final Pattern CLOCK = Pattern.compile("([0-9]{1,2}):([0-9]{2})(?::([0-9]{2}))?");
    private static final Pattern PART = Pattern.compile("([0-9]+(?:\\.[0-9]+)?) *([a-z]+)");
    private static final Pattern AND = Pattern.compile("[,]|(?<![a-z0-9_])and(?![a-z0-9_])");

    /** "1 hours 30 minutes", "90 seconds", "1h30m", "1:30:00" (h:m:s) or "5:00" (m:s) to seconds. */
    public static long durationSeconds(String text) {
        String s = Values.strip(text).toLowerCase(Locale.ROOT);
        Matcher c = CLOCK.matcher(s);
        if (c.matches()) {
            int a = Integer.parseInt(c.group(1)), b = Integer.parseInt(c.group(2));
            if (b > 59 || (c.group(3) != null && Integer.parseInt(c.group(3)) > 59))
                throw new IllegalArgumentException("not a duration");
            return c.group(3) == null ? (long) a * 60 + b : (long) a * 3600 + b * 60L + Integer.parseInt(c.group(3));
        }
        s = AND.matcher(s).replaceAll(" ");
        double total = 0.0;
        int pos = 0;
        boolean found = false;
        Matcher p = PART.matcher(s);
        while (p.find()) {
            if (!Values.strip(s.substring(pos, p.start())).isEmpty()) throw new IllegalArgumentException("not a duration");
            Integer unit = UNITS.get(p.group(2));
            if (unit == null) throw new IllegalArgumentException("not a duration");
            total += Double.parseDouble(p.group(1)) * unit;
            pos = p.end();
            found = true;
        }
        if (!found || !Values.strip(s.substring(pos)).isEmpty()) throw new IllegalArgumentException("not a duration");
        return (long) Math.floor(total + 0.5);
    }
}

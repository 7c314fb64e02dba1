package org.phonelm.demo.core;

/**
 * What runs a plan's steps. The app implements it with a ContentResolver and
 * startActivityForResult (blocking a background thread until the result arrives);
 * tests and the replay build use {@link SimulatedDevice}.
 */
public interface Device {
    /** The value of a contacts lookup, or null when there is none. */
    Object query(ContactQuery q);

    /** Fire an intent; for one started for a result, return the URI (or list of URIs), else null. */
    Object start(int call, String function, IntentSpec intent);

    /** A dry run: nothing executes and the result of call N is the text "resultN". */
    boolean dryRun();
}

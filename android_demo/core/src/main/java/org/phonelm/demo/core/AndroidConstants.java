package org.phonelm.demo.core;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Android SDK string values the mapper puts into intents. The core has no android.* imports, so
 * they are spelled out here; AndroidConstantsTest checks every one against android.jar when it
 * is on the test classpath (Python: phonelm_export/intents/android_values.py).
 */
public final class AndroidConstants {
    private AndroidConstants() {}

    // android.provider.AlarmClock
    public static final String ACTION_SET_ALARM = "android.intent.action.SET_ALARM";
    public static final String ACTION_SET_TIMER = "android.intent.action.SET_TIMER";
    public static final String ACTION_SHOW_ALARMS = "android.intent.action.SHOW_ALARMS";
    public static final String EXTRA_HOUR = "android.intent.extra.alarm.HOUR";
    public static final String EXTRA_MINUTES = "android.intent.extra.alarm.MINUTES";
    public static final String EXTRA_MESSAGE = "android.intent.extra.alarm.MESSAGE";
    public static final String EXTRA_DAYS = "android.intent.extra.alarm.DAYS";
    public static final String EXTRA_RINGTONE = "android.intent.extra.alarm.RINGTONE";
    public static final String EXTRA_VIBRATE = "android.intent.extra.alarm.VIBRATE";
    public static final String EXTRA_SKIP_UI = "android.intent.extra.alarm.SKIP_UI";
    public static final String EXTRA_LENGTH = "android.intent.extra.alarm.LENGTH";
    // android.content.Intent
    public static final String ACTION_INSERT = "android.intent.action.INSERT";
    public static final String ACTION_EDIT = "android.intent.action.EDIT";
    public static final String ACTION_VIEW = "android.intent.action.VIEW";
    public static final String ACTION_PICK = "android.intent.action.PICK";
    public static final String ACTION_DIAL = "android.intent.action.DIAL";
    public static final String ACTION_SEND = "android.intent.action.SEND";
    public static final String ACTION_SEND_MULTIPLE = "android.intent.action.SEND_MULTIPLE";
    public static final String ACTION_SENDTO = "android.intent.action.SENDTO";
    public static final String ACTION_GET_CONTENT = "android.intent.action.GET_CONTENT";
    public static final String ACTION_OPEN_DOCUMENT = "android.intent.action.OPEN_DOCUMENT";
    public static final String ACTION_CREATE_DOCUMENT = "android.intent.action.CREATE_DOCUMENT";
    public static final String CATEGORY_OPENABLE = "android.intent.category.OPENABLE";
    public static final String EXTRA_EMAIL = "android.intent.extra.EMAIL";
    public static final String EXTRA_CC = "android.intent.extra.CC";
    public static final String EXTRA_BCC = "android.intent.extra.BCC";
    public static final String EXTRA_SUBJECT = "android.intent.extra.SUBJECT";
    public static final String EXTRA_TEXT = "android.intent.extra.TEXT";
    public static final String EXTRA_STREAM = "android.intent.extra.STREAM";
    public static final String EXTRA_TITLE = "android.intent.extra.TITLE";
    public static final String EXTRA_ALLOW_MULTIPLE = "android.intent.extra.ALLOW_MULTIPLE";
    public static final String EXTRA_MIME_TYPES = "android.intent.extra.MIME_TYPES";
    // android.media.RingtoneManager
    public static final String ACTION_RINGTONE_PICKER = "android.intent.action.RINGTONE_PICKER";
    // android.provider.MediaStore
    public static final String ACTION_IMAGE_CAPTURE = "android.media.action.IMAGE_CAPTURE";
    public static final String ACTION_VIDEO_CAPTURE = "android.media.action.VIDEO_CAPTURE";
    public static final String INTENT_ACTION_STILL_IMAGE_CAMERA = "android.media.action.STILL_IMAGE_CAMERA";
    public static final String INTENT_ACTION_VIDEO_CAMERA = "android.media.action.VIDEO_CAMERA";
    // android.provider.CalendarContract
    public static final String EVENTS_CONTENT_URI = "content://com.android.calendar/events";
    public static final String CAL_TITLE = "title";
    public static final String CAL_DESCRIPTION = "description";
    public static final String CAL_EVENT_LOCATION = "eventLocation";
    public static final String CAL_EXTRA_EVENT_ALL_DAY = "allDay";
    public static final String CAL_EXTRA_EVENT_BEGIN_TIME = "beginTime";
    public static final String CAL_EXTRA_EVENT_END_TIME = "endTime";
    // android.provider.ContactsContract
    public static final String CONTACTS_CONTENT_TYPE = "vnd.android.cursor.dir/contact";
    public static final String PHONE_CONTENT_TYPE = "vnd.android.cursor.dir/phone_v2";
    public static final String EMAIL_CONTENT_TYPE = "vnd.android.cursor.dir/email_v2";
    public static final String POSTAL_CONTENT_TYPE = "vnd.android.cursor.dir/postal-address_v2";
    public static final String RAW_CONTACTS_CONTENT_TYPE = "vnd.android.cursor.dir/raw_contact";
    public static final String INSERT_NAME = "name";
    public static final String INSERT_PHONE = "phone";
    public static final String INSERT_EMAIL = "email";
    public static final String INSERT_COMPANY = "company";
    public static final String INSERT_POSTAL = "postal";
    public static final String EXTRA_FINISH_ON_SAVE = "finishActivityOnSaveCompleted";

    /** open_settings(setting_type) -> android.provider.Settings action. */
    public static final Map<String, String> SETTINGS_ACTIONS = new LinkedHashMap<String, String>();
    /** Weekday name -> java.util.Calendar day number (AlarmClock.EXTRA_DAYS). */
    public static final Map<String, Integer> CALENDAR_DAYS = new LinkedHashMap<String, Integer>();

    static {
        String[][] settings = {
            {"general", "android.settings.SETTINGS"},
            {"wireless", "android.settings.WIRELESS_SETTINGS"},
            {"airplane_mode", "android.settings.AIRPLANE_MODE_SETTINGS"},
            {"wifi", "android.settings.WIFI_SETTINGS"},
            {"apn", "android.settings.APN_SETTINGS"},
            {"bluetooth", "android.settings.BLUETOOTH_SETTINGS"},
            {"date", "android.settings.DATE_SETTINGS"},
            {"locale", "android.settings.LOCALE_SETTINGS"},
            {"input_method", "android.settings.INPUT_METHOD_SETTINGS"},
            {"display", "android.settings.DISPLAY_SETTINGS"},
            {"security", "android.settings.SECURITY_SETTINGS"},
            {"location", "android.settings.LOCATION_SOURCE_SETTINGS"},
            {"internal_storage", "android.settings.INTERNAL_STORAGE_SETTINGS"},
            {"memory_card", "android.settings.MEMORY_CARD_SETTINGS"},
        };
        for (String[] kv : settings) SETTINGS_ACTIONS.put(kv[0], kv[1]);
        String[] days = {"sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"};
        for (int k = 0; k < days.length; k++) CALENDAR_DAYS.put(days[k], k + 1);
    }
}

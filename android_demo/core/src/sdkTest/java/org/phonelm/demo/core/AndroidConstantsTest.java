package org.phonelm.demo.core;

import static org.junit.Assert.assertEquals;

import android.content.Intent;
import android.media.RingtoneManager;
import android.provider.AlarmClock;
import android.provider.CalendarContract;
import android.provider.ContactsContract;
import android.provider.MediaStore;
import android.provider.Settings;

import java.util.Calendar;
import java.util.LinkedHashMap;
import java.util.Map;

import org.junit.Test;

/**
 * The core spells Android's constants out (it has no android.* imports); this test is compiled
 * against the SDK's android.jar, so javac inlines the real values, and checks every one.
 * It is outside Gradle's source sets: tests/test_android_core.py compiles it when android.jar
 * (Debian's libandroid-23-java) is available.
 */
public class AndroidConstantsTest {
    @Test
    public void intentActionsAndExtras() {
        assertEquals(AlarmClock.ACTION_SET_ALARM, AndroidConstants.ACTION_SET_ALARM);
        assertEquals(AlarmClock.ACTION_SET_TIMER, AndroidConstants.ACTION_SET_TIMER);
        assertEquals(AlarmClock.ACTION_SHOW_ALARMS, AndroidConstants.ACTION_SHOW_ALARMS);
        assertEquals(AlarmClock.EXTRA_HOUR, AndroidConstants.EXTRA_HOUR);
        assertEquals(AlarmClock.EXTRA_MINUTES, AndroidConstants.EXTRA_MINUTES);
        assertEquals(AlarmClock.EXTRA_MESSAGE, AndroidConstants.EXTRA_MESSAGE);
        assertEquals(AlarmClock.EXTRA_DAYS, AndroidConstants.EXTRA_DAYS);
        assertEquals(AlarmClock.EXTRA_RINGTONE, AndroidConstants.EXTRA_RINGTONE);
        assertEquals(AlarmClock.EXTRA_VIBRATE, AndroidConstants.EXTRA_VIBRATE);
        assertEquals(AlarmClock.EXTRA_SKIP_UI, AndroidConstants.EXTRA_SKIP_UI);
        assertEquals(AlarmClock.EXTRA_LENGTH, AndroidConstants.EXTRA_LENGTH);
        assertEquals(Intent.ACTION_INSERT, AndroidConstants.ACTION_INSERT);
        assertEquals(Intent.ACTION_EDIT, AndroidConstants.ACTION_EDIT);
        assertEquals(Intent.ACTION_VIEW, AndroidConstants.ACTION_VIEW);
        assertEquals(Intent.ACTION_PICK, AndroidConstants.ACTION_PICK);
        assertEquals(Intent.ACTION_DIAL, AndroidConstants.ACTION_DIAL);
        assertEquals(Intent.ACTION_SEND, AndroidConstants.ACTION_SEND);
        assertEquals(Intent.ACTION_SEND_MULTIPLE, AndroidConstants.ACTION_SEND_MULTIPLE);
        assertEquals(Intent.ACTION_SENDTO, AndroidConstants.ACTION_SENDTO);
        assertEquals(Intent.ACTION_GET_CONTENT, AndroidConstants.ACTION_GET_CONTENT);
        assertEquals(Intent.ACTION_OPEN_DOCUMENT, AndroidConstants.ACTION_OPEN_DOCUMENT);
        assertEquals(Intent.ACTION_CREATE_DOCUMENT, AndroidConstants.ACTION_CREATE_DOCUMENT);
        assertEquals(Intent.CATEGORY_OPENABLE, AndroidConstants.CATEGORY_OPENABLE);
        assertEquals(Intent.EXTRA_EMAIL, AndroidConstants.EXTRA_EMAIL);
        assertEquals(Intent.EXTRA_CC, AndroidConstants.EXTRA_CC);
        assertEquals(Intent.EXTRA_BCC, AndroidConstants.EXTRA_BCC);
        assertEquals(Intent.EXTRA_SUBJECT, AndroidConstants.EXTRA_SUBJECT);
        assertEquals(Intent.EXTRA_TEXT, AndroidConstants.EXTRA_TEXT);
        assertEquals(Intent.EXTRA_STREAM, AndroidConstants.EXTRA_STREAM);
        assertEquals(Intent.EXTRA_TITLE, AndroidConstants.EXTRA_TITLE);
        assertEquals(Intent.EXTRA_ALLOW_MULTIPLE, AndroidConstants.EXTRA_ALLOW_MULTIPLE);
        assertEquals(Intent.EXTRA_MIME_TYPES, AndroidConstants.EXTRA_MIME_TYPES);
        assertEquals(RingtoneManager.ACTION_RINGTONE_PICKER, AndroidConstants.ACTION_RINGTONE_PICKER);
        assertEquals(MediaStore.ACTION_IMAGE_CAPTURE, AndroidConstants.ACTION_IMAGE_CAPTURE);
        assertEquals(MediaStore.ACTION_VIDEO_CAPTURE, AndroidConstants.ACTION_VIDEO_CAPTURE);
        assertEquals(MediaStore.INTENT_ACTION_STILL_IMAGE_CAMERA, AndroidConstants.INTENT_ACTION_STILL_IMAGE_CAMERA);
        assertEquals(MediaStore.INTENT_ACTION_VIDEO_CAMERA, AndroidConstants.INTENT_ACTION_VIDEO_CAMERA);
    }

    @Test
    public void calendarAndContactsProviders() {
        assertEquals("content://" + CalendarContract.AUTHORITY + "/events", AndroidConstants.EVENTS_CONTENT_URI);
        assertEquals(CalendarContract.Events.TITLE, AndroidConstants.CAL_TITLE);
        assertEquals(CalendarContract.Events.DESCRIPTION, AndroidConstants.CAL_DESCRIPTION);
        assertEquals(CalendarContract.Events.EVENT_LOCATION, AndroidConstants.CAL_EVENT_LOCATION);
        assertEquals(CalendarContract.EXTRA_EVENT_ALL_DAY, AndroidConstants.CAL_EXTRA_EVENT_ALL_DAY);
        assertEquals(CalendarContract.EXTRA_EVENT_BEGIN_TIME, AndroidConstants.CAL_EXTRA_EVENT_BEGIN_TIME);
        assertEquals(CalendarContract.EXTRA_EVENT_END_TIME, AndroidConstants.CAL_EXTRA_EVENT_END_TIME);
        assertEquals(ContactsContract.Contacts.CONTENT_TYPE, AndroidConstants.CONTACTS_CONTENT_TYPE);
        assertEquals(ContactsContract.CommonDataKinds.Phone.CONTENT_TYPE, AndroidConstants.PHONE_CONTENT_TYPE);
        assertEquals(ContactsContract.CommonDataKinds.Email.CONTENT_TYPE, AndroidConstants.EMAIL_CONTENT_TYPE);
        assertEquals(ContactsContract.CommonDataKinds.StructuredPostal.CONTENT_TYPE, AndroidConstants.POSTAL_CONTENT_TYPE);
        assertEquals(ContactsContract.RawContacts.CONTENT_TYPE, AndroidConstants.RAW_CONTACTS_CONTENT_TYPE);
        assertEquals(ContactsContract.Intents.Insert.NAME, AndroidConstants.INSERT_NAME);
        assertEquals(ContactsContract.Intents.Insert.PHONE, AndroidConstants.INSERT_PHONE);
        assertEquals(ContactsContract.Intents.Insert.EMAIL, AndroidConstants.INSERT_EMAIL);
        assertEquals(ContactsContract.Intents.Insert.COMPANY, AndroidConstants.INSERT_COMPANY);
        assertEquals(ContactsContract.Intents.Insert.POSTAL, AndroidConstants.INSERT_POSTAL);
    }

    @Test
    public void settingsPagesAndWeekdays() {
        Map<String, String> want = new LinkedHashMap<String, String>();
        want.put("general", Settings.ACTION_SETTINGS);
        want.put("wireless", Settings.ACTION_WIRELESS_SETTINGS);
        want.put("airplane_mode", Settings.ACTION_AIRPLANE_MODE_SETTINGS);
        want.put("wifi", Settings.ACTION_WIFI_SETTINGS);
        want.put("apn", Settings.ACTION_APN_SETTINGS);
        want.put("bluetooth", Settings.ACTION_BLUETOOTH_SETTINGS);
        want.put("date", Settings.ACTION_DATE_SETTINGS);
        want.put("locale", Settings.ACTION_LOCALE_SETTINGS);
        want.put("input_method", Settings.ACTION_INPUT_METHOD_SETTINGS);
        want.put("display", Settings.ACTION_DISPLAY_SETTINGS);
        want.put("security", Settings.ACTION_SECURITY_SETTINGS);
        want.put("location", Settings.ACTION_LOCATION_SOURCE_SETTINGS);
        want.put("internal_storage", Settings.ACTION_INTERNAL_STORAGE_SETTINGS);
        want.put("memory_card", Settings.ACTION_MEMORY_CARD_SETTINGS);
        assertEquals(want, AndroidConstants.SETTINGS_ACTIONS);
        assertEquals(Integer.valueOf(Calendar.SUNDAY), AndroidConstants.CALENDAR_DAYS.get("sunday"));
        assertEquals(Integer.valueOf(Calendar.MONDAY), AndroidConstants.CALENDAR_DAYS.get("monday"));
        assertEquals(Integer.valueOf(Calendar.SATURDAY), AndroidConstants.CALENDAR_DAYS.get("saturday"));
    }
}

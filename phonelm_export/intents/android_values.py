"""Android SDK string constants the mapper uses (checked against android.jar by the Android tests).

Kept as plain data so Python and the Kotlin core (``IntentConstants.kt``) can be compared
line by line.
"""

ACTION_SET_ALARM = "android.intent.action.SET_ALARM"
ACTION_SET_TIMER = "android.intent.action.SET_TIMER"
ACTION_SHOW_ALARMS = "android.intent.action.SHOW_ALARMS"
EXTRA_HOUR = "android.intent.extra.alarm.HOUR"
EXTRA_MINUTES = "android.intent.extra.alarm.MINUTES"
EXTRA_MESSAGE = "android.intent.extra.alarm.MESSAGE"
EXTRA_DAYS = "android.intent.extra.alarm.DAYS"
EXTRA_RINGTONE = "android.intent.extra.alarm.RINGTONE"
EXTRA_VIBRATE = "android.intent.extra.alarm.VIBRATE"
EXTRA_SKIP_UI = "android.intent.extra.alarm.SKIP_UI"
EXTRA_LENGTH = "android.intent.extra.alarm.LENGTH"

ACTION_INSERT = "android.intent.action.INSERT"
ACTION_EDIT = "android.intent.action.EDIT"
ACTION_VIEW = "android.intent.action.VIEW"
ACTION_PICK = "android.intent.action.PICK"
ACTION_DIAL = "android.intent.action.DIAL"
ACTION_SEND = "android.intent.action.SEND"
ACTION_SEND_MULTIPLE = "android.intent.action.SEND_MULTIPLE"
ACTION_SENDTO = "android.intent.action.SENDTO"
ACTION_GET_CONTENT = "android.intent.action.GET_CONTENT"
ACTION_OPEN_DOCUMENT = "android.intent.action.OPEN_DOCUMENT"
ACTION_CREATE_DOCUMENT = "android.intent.action.CREATE_DOCUMENT"
ACTION_RINGTONE_PICKER = "android.intent.action.RINGTONE_PICKER"
CATEGORY_OPENABLE = "android.intent.category.OPENABLE"
EXTRA_EMAIL = "android.intent.extra.EMAIL"
EXTRA_CC = "android.intent.extra.CC"
EXTRA_BCC = "android.intent.extra.BCC"
EXTRA_SUBJECT = "android.intent.extra.SUBJECT"
EXTRA_TEXT = "android.intent.extra.TEXT"
EXTRA_STREAM = "android.intent.extra.STREAM"
EXTRA_TITLE = "android.intent.extra.TITLE"
EXTRA_ALLOW_MULTIPLE = "android.intent.extra.ALLOW_MULTIPLE"
EXTRA_MIME_TYPES = "android.intent.extra.MIME_TYPES"

ACTION_IMAGE_CAPTURE = "android.media.action.IMAGE_CAPTURE"
ACTION_VIDEO_CAPTURE = "android.media.action.VIDEO_CAPTURE"
INTENT_ACTION_STILL_IMAGE_CAMERA = "android.media.action.STILL_IMAGE_CAMERA"
INTENT_ACTION_VIDEO_CAMERA = "android.media.action.VIDEO_CAMERA"

# CalendarContract
EVENTS_CONTENT_URI = "content://com.android.calendar/events"
CAL_TITLE = "title"
CAL_DESCRIPTION = "description"
CAL_EVENT_LOCATION = "eventLocation"
CAL_EXTRA_EVENT_ALL_DAY = "allDay"
CAL_EXTRA_EVENT_BEGIN_TIME = "beginTime"
CAL_EXTRA_EVENT_END_TIME = "endTime"

# ContactsContract
CONTACTS_CONTENT_TYPE = "vnd.android.cursor.dir/contact"
PHONE_CONTENT_TYPE = "vnd.android.cursor.dir/phone_v2"
EMAIL_CONTENT_TYPE = "vnd.android.cursor.dir/email_v2"
POSTAL_CONTENT_TYPE = "vnd.android.cursor.dir/postal-address_v2"
RAW_CONTACTS_CONTENT_TYPE = "vnd.android.cursor.dir/raw_contact"
INSERT_NAME = "name"
INSERT_PHONE = "phone"
INSERT_EMAIL = "email"
INSERT_COMPANY = "company"
INSERT_POSTAL = "postal"
EXTRA_FINISH_ON_SAVE = "finishActivityOnSaveCompleted"

SETTINGS_ACTIONS = {
    "general": "android.settings.SETTINGS",
    "wireless": "android.settings.WIRELESS_SETTINGS",
    "airplane_mode": "android.settings.AIRPLANE_MODE_SETTINGS",
    "wifi": "android.settings.WIFI_SETTINGS",
    "apn": "android.settings.APN_SETTINGS",
    "bluetooth": "android.settings.BLUETOOTH_SETTINGS",
    "date": "android.settings.DATE_SETTINGS",
    "locale": "android.settings.LOCALE_SETTINGS",
    "input_method": "android.settings.INPUT_METHOD_SETTINGS",
    "display": "android.settings.DISPLAY_SETTINGS",
    "security": "android.settings.SECURITY_SETTINGS",
    "location": "android.settings.LOCATION_SOURCE_SETTINGS",
    "internal_storage": "android.settings.INTERNAL_STORAGE_SETTINGS",
    "memory_card": "android.settings.MEMORY_CARD_SETTINGS",
}

# java.util.Calendar day numbers, which AlarmClock.EXTRA_DAYS expects
CALENDAR_DAYS = {
    "sunday": 1, "monday": 2, "tuesday": 3, "wednesday": 4,
    "thursday": 5, "friday": 6, "saturday": 7,
}

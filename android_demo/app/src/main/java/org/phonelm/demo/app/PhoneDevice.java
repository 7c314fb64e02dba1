package org.phonelm.demo.app;

import android.app.Activity;
import android.content.ContentResolver;
import android.content.ContentValues;
import android.content.Intent;
import android.database.Cursor;
import android.net.Uri;
import android.provider.ContactsContract;
import android.provider.MediaStore;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import org.phonelm.demo.core.ContactQuery;
import org.phonelm.demo.core.Device;
import org.phonelm.demo.core.IntentSpec;

/**
 * The real phone for the core's Planner: contacts lookups through the ContentResolver, intents
 * through the activity. Runs on a background thread: an intent started for a result blocks until
 * MainActivity hands the result back (onActivityResult -> deliver).
 */
final class PhoneDevice implements Device {
    static final int REQUEST = 4711;
    private final Activity activity;
    private CountDownLatch latch;
    private Intent resultData;
    private int resultCode;

    PhoneDevice(Activity activity) {
        this.activity = activity;
    }

    @Override
    public boolean dryRun() {
        return false;
    }

    void deliver(int code, Intent data) {
        resultCode = code;
        resultData = data;
        if (latch != null) latch.countDown();
    }

    @Override
    public Object start(int call, String function, IntentSpec spec) {
        final Intent it = IntentFactory.build(spec);
        Uri output = null;
        if (function.equals("ACTION_IMAGE_CAPTURE") || function.equals("ACTION_VIDEO_CAPTURE")) {
            // the camera writes the full-size file where we say; MediaStore gives a content URI without permissions (API 29+)
            ContentValues v = new ContentValues();
            Uri table = function.equals("ACTION_IMAGE_CAPTURE") ? MediaStore.Images.Media.EXTERNAL_CONTENT_URI : MediaStore.Video.Media.EXTERNAL_CONTENT_URI;
            output = activity.getContentResolver().insert(table, v);
            it.putExtra(MediaStore.EXTRA_OUTPUT, output);
        }
        if (spec.returns == null) {
            activity.runOnUiThread(new Runnable() {
                @Override
                public void run() {
                    activity.startActivity(it);
                }
            });
            return null;
        }
        latch = new CountDownLatch(1);
        activity.runOnUiThread(new Runnable() {
            @Override
            public void run() {
                activity.startActivityForResult(it, REQUEST);
            }
        });
        try {
            if (!latch.await(10, TimeUnit.MINUTES)) return null;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return null;
        }
        if (resultCode != Activity.RESULT_OK) return null;
        if (output != null) return output.toString();
        if (resultData == null) return null;
        if ("uri_list".equals(spec.returns)) {
            List<Object> uris = new ArrayList<Object>();
            if (resultData.getClipData() != null)
                for (int k = 0; k < resultData.getClipData().getItemCount(); k++) uris.add(resultData.getClipData().getItemAt(k).getUri().toString());
            else if (resultData.getData() != null) uris.add(resultData.getData().toString());
            return uris;
        }
        if (function.equals("ACTION_GET_RINGTONE")) {
            Uri u = resultData.getParcelableExtra(android.media.RingtoneManager.EXTRA_RINGTONE_PICKED_URI);
            return u == null ? null : u.toString();
        }
        return resultData.getData() == null ? null : resultData.getData().toString();
    }

    @Override
    public Object query(ContactQuery q) {
        ContentResolver cr = activity.getContentResolver();
        Long contactId = null;
        if (q.by.equals("name")) {
            Cursor c = cr.query(ContactsContract.Contacts.CONTENT_URI, new String[] {ContactsContract.Contacts._ID},
                    ContactsContract.Contacts.DISPLAY_NAME + " LIKE ?", new String[] {q.value.trim()}, null);
            if (c != null) {
                if (c.moveToFirst()) contactId = c.getLong(0);
                c.close();
            }
        } else {
            Uri uri = Uri.parse(q.value);
            Cursor c = cr.query(uri, null, null, null, null);
            if (c != null) {
                int col = c.getColumnIndex(ContactsContract.Data.CONTACT_ID);
                if (col < 0) col = c.getColumnIndex(ContactsContract.Contacts._ID);
                if (c.moveToFirst() && col >= 0) contactId = c.getLong(col);
                c.close();
            }
        }
        if (contactId == null) return null;
        if (q.key.equals("uri"))
            return ContactsContract.Contacts.getLookupUri(cr, Uri.withAppendedPath(ContactsContract.Contacts.CONTENT_URI, String.valueOf(contactId))).toString();
        Uri table;
        String column;
        if (q.key.equals("phone")) {
            table = ContactsContract.CommonDataKinds.Phone.CONTENT_URI;
            column = ContactsContract.CommonDataKinds.Phone.NUMBER;
        } else if (q.key.equals("email")) {
            table = ContactsContract.CommonDataKinds.Email.CONTENT_URI;
            column = ContactsContract.CommonDataKinds.Email.ADDRESS;
        } else {
            table = ContactsContract.CommonDataKinds.StructuredPostal.CONTENT_URI;
            column = ContactsContract.CommonDataKinds.StructuredPostal.FORMATTED_ADDRESS;
        }
        Cursor c = cr.query(table, new String[] {column}, ContactsContract.Data.CONTACT_ID + " = ?",
                new String[] {String.valueOf(contactId)}, null);
        String value = null;
        if (c != null) {
            if (c.moveToFirst()) value = c.getString(0);
            c.close();
        }
        return value;
    }
}

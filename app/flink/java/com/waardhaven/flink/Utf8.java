package com.waardhaven.flink;

/**
 * Strict UTF-8, as Python's decoder (and app.schemas.parse_record) reads it: the well-formed byte sequences
 * of the Unicode standard (table 3-7), so no overlong forms, no encoded surrogates, nothing beyond U+10FFFF.
 * A NUL byte is refused too: JSON has no place for one, and leading NULs would make Jackson guess UTF-16/32.
 */
final class Utf8 {
    private Utf8() {
    }

    static boolean valid(byte[] bytes) {
        int i = 0;
        while (i < bytes.length) {
            int b = bytes[i] & 0xff;
            if (b > 0 && b < 0x80) {
                i++;
                continue;
            }
            int length;
            int low = 0x80;
            int high = 0xbf;
            if (b >= 0xc2 && b <= 0xdf) {
                length = 2;
            } else if (b >= 0xe0 && b <= 0xef) {
                length = 3;
                low = b == 0xe0 ? 0xa0 : 0x80;
                high = b == 0xed ? 0x9f : 0xbf;
            } else if (b >= 0xf0 && b <= 0xf4) {
                length = 4;
                low = b == 0xf0 ? 0x90 : 0x80;
                high = b == 0xf4 ? 0x8f : 0xbf;
            } else {
                return false;
            }
            if (i + length > bytes.length) {
                return false;
            }
            int second = bytes[i + 1] & 0xff;
            if (second < low || second > high) {
                return false;
            }
            for (int k = 2; k < length; k++) {
                if ((bytes[i + k] & 0xc0) != 0x80) {
                    return false;
                }
            }
            i += length;
        }
        return true;
    }

    static boolean startsWithByteOrderMark(byte[] bytes) {
        return bytes.length >= 3 && (bytes[0] & 0xff) == 0xef && (bytes[1] & 0xff) == 0xbb && (bytes[2] & 0xff) == 0xbf;
    }
}

/* Dates and times as numbers, computed exactly as lua/accelerate/dates.lua
 * does (day numbers since 1970-01-01 on the proleptic Gregorian calendar,
 * era/day-of-era), so that a time kept as seconds by the store gives the
 * insight reports the same figures as the string it came from. */
#include "store.h"

static int64_t acc_floordiv(int64_t a, int64_t b)
{
    int64_t q = a / b;
    if ((a % b != 0) && ((a < 0) != (b < 0)))
        q--;
    return q;
}

int64_t acc_days_from_civil(int64_t y, int64_t m, int64_t d)
{
    int64_t era, yoe, mp, doy, doe;
    if (m <= 2)
        y--;
    era = acc_floordiv(y, 400);
    yoe = y - era * 400;
    mp = ((m + 9) % 12 + 12) % 12;
    doy = acc_floordiv(153 * mp + 2, 5) + d - 1;
    doe = yoe * 365 + acc_floordiv(yoe, 4) - acc_floordiv(yoe, 100) + doy;
    return era * 146097 + doe - 719468;
}

static void acc_civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
    int64_t era, doe, yoe, doy, mp;
    z += 719468;
    era = acc_floordiv(z, 146097);
    doe = z - era * 146097;
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

static int acc_digits(const char *s, size_t n, int64_t *v)
{
    size_t i;
    *v = 0;
    for (i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return 0;
        *v = *v * 10 + (s[i] - '0');
    }
    return 1;
}

/* dates.parse_timestamp: "YYYY-MM-DD[T ]hh:mm:ss..." (the rest ignored) or
 * "YYYY-MM-DD..." at midnight, as seconds since 1970-01-01 (zone-less) in
 * *t; 0 when the date does not read.  The one reader of both the store's
 * times and accelerate.parse_timestamp. */
static int acc_time_read(const char *s, size_t len, int64_t *t)
{
    int64_t y, mo, d, hh = 0, mi = 0, ss = 0;
    if (len < 10 || s[4] != '-' || s[7] != '-' || !acc_digits(s, 4, &y) ||
        !acc_digits(s + 5, 2, &mo) || !acc_digits(s + 8, 2, &d))
        return 0;
    if (!(len >= 19 && (s[10] == 'T' || s[10] == ' ') && s[13] == ':' &&
          s[16] == ':' && acc_digits(s + 11, 2, &hh) &&
          acc_digits(s + 14, 2, &mi) && acc_digits(s + 17, 2, &ss)))
        hh = mi = ss = 0;
    *t = acc_days_from_civil(y, mo, d) * 86400 + hh * 3600 + mi * 60 + ss;
    return 1;
}

/* acc_time_read's seconds from ACC_TIME_EPOCH; ACC_NO_TIME when the date
 * does not read, or when it is too far from the epoch. */
int32_t acc_time_parse(const char *s, size_t len)
{
    int64_t t;
    if (!acc_time_read(s, len, &t))
        return ACC_NO_TIME;
    t -= ACC_TIME_EPOCH;
    if (t <= INT32_MIN || t > INT32_MAX)
        return ACC_NO_TIME;
    return (int32_t)t;
}

static void acc_two(char *p, int v)
{
    p[0] = (char)('0' + v / 10);
    p[1] = (char)('0' + v % 10);
}

/* Seconds back to "YYYY-MM-DDThh:mm:ss" (buf of at least 20 bytes); its
 * length.  acc_time_parse of the result gives the same seconds.  Written
 * by hand: a report of 200,000 instances writes 600,000 of them.  Every
 * year of the range is four digits. */
int acc_time_format(int32_t when, char *buf, size_t size)
{
    int64_t t = (int64_t)when + ACC_TIME_EPOCH;
    int64_t day = acc_floordiv(t, 86400), sec = t - day * 86400, y;
    int m, d;
    if (size < 20)
        return 0;
    acc_civil_from_days(day, &y, &m, &d);
    acc_two(buf, (int)(y / 100));
    acc_two(buf + 2, (int)(y % 100));
    buf[4] = '-';
    acc_two(buf + 5, m);
    buf[7] = '-';
    acc_two(buf + 8, d);
    buf[10] = 'T';
    acc_two(buf + 11, (int)(sec / 3600));
    buf[13] = ':';
    acc_two(buf + 14, (int)(sec % 3600 / 60));
    buf[16] = ':';
    acc_two(buf + 17, (int)(sec % 60));
    buf[19] = '\0';
    return 19;
}

/* Pushes dates.parse_timestamp of the value at idx: day * 86400 + the time
 * of day (midnight when the time does not read), nil when the date does
 * not or it is no string.  The same number as the Lua function for every
 * text; the store's scan uses it for the instances it keeps whole. */
void acc_days_push_timestamp(lua_State *L, int idx)
{
    if (lua_type(L, idx) == LUA_TSTRING) {
        size_t len;
        const char *s = lua_tolstring(L, idx, &len);
        int64_t t;
        if (acc_time_read(s, len, &t)) {
            lua_pushinteger(L, (lua_Integer)t);
            return;
        }
    }
    lua_pushnil(L);
}

/* accelerate.parse_timestamp(s) -> seconds | nil: dates.parse_timestamp
 * in C.  A report of 200,000 instances parses 600,000 times; in Lua that
 * was most of its CPU. */
static int acc_days_parse_timestamp(lua_State *L)
{
    acc_days_push_timestamp(L, 1);
    return 1;
}

const luaL_Reg acc_days_lib[] = {
    {"parse_timestamp", acc_days_parse_timestamp}, {NULL, NULL}};

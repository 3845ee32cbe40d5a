//! The platform's two ways of writing a moment, read back to milliseconds since the epoch: the
//! event log's compact `TIMESTAMP` and the API's datetime (UTC only).

/// `20261201153012.123` -> milliseconds since the epoch.
pub fn parse_timestamp(s: &str) -> Option<i64> {
    let (whole, frac) = s.split_once('.').unwrap_or((s, "0"));
    let digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
    if whole.len() != 14 || !digits(whole) || !digits(frac) {
        return None;
    }
    let n = |r: std::ops::Range<usize>| whole[r].parse::<i64>().ok();
    let (y, m, d) = (n(0..4)?, n(4..6)?, n(6..8)?);
    let (hh, mm, ss) = (n(8..10)?, n(10..12)?, n(12..14)?);
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) || hh > 23 || mm > 59 || ss > 60 {
        return None;
    }
    let millis = format!("{frac:0<3}")[..3].parse::<i64>().ok()?;
    // Days from civil (Howard Hinnant), the inverse of the mock's formatter.
    let (y, m) = if m <= 2 { (y - 1, m + 9) } else { (y, m - 3) };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * m + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(((days * 86_400 + hh * 3600 + mm * 60 + ss) * 1000) + millis)
}

/// `2026-11-23T15:04:05.000+0000` (UTC only: the API renders datetimes in UTC) -> milliseconds
/// since the epoch.
pub fn parse_datetime(s: &str) -> Option<i64> {
    if !(s.ends_with("+0000") || s.ends_with('Z')) {
        return None;
    }
    let digits: String = s.get(..19)?.chars().filter(char::is_ascii_digit).collect();
    parse_timestamp(&format!("{digits}.{}", s.get(20..23).unwrap_or("000")))
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: i64 = 1_795_446_245_123; // 2026-11-23T15:04:05.123Z

    #[test]
    fn timestamps_parse_back() {
        assert_eq!(parse_timestamp("20261123150405.123"), Some(T0));
        assert_eq!(parse_timestamp("2026-11-23"), None);
        assert_eq!(parse_timestamp("20261323150405.123"), None, "month 13");
        assert_eq!(parse_timestamp("20261123150405.éé"), None, "a fraction that is not digits");
        assert_eq!(parse_datetime("2026-11-23T15:04:05.123+0000"), Some(T0));
        assert_eq!(parse_datetime("2026-11-23T15:04:05.123-0800"), None, "UTC only");
    }
}

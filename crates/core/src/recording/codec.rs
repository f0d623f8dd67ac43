//! The stored form of decoded streams: little-endian columns, deflated.
//!
//! `TRS1`, the start (i64, `i64::MIN` when unknown), the sample count (u32), the series count
//! (u8), then each series: its kind (u8), its width (4 or 8 bytes) and its values. Coordinates,
//! time and distance are f64; the rest f32 (a heart rate needs no 15 digits). Reading back a
//! column is a copy, so opening a 10-hour ride costs the inflate and little else: far cheaper
//! than decoding its FIT again, which is why streams are stored beside the original at all.

use super::{MAX_POINTS, StreamKind, Streams};
use crate::{Error, Result};
use std::io::{Read, Write};

const MAGIC: &[u8; 4] = b"TRS1";

/// Pack the series of `streams` (laps are stored apart, as JSON).
pub fn encode(streams: &Streams) -> Result<Vec<u8>> {
    let n = streams.len();
    let mut raw = Vec::with_capacity(16 + n * streams.series.len() * 6);
    raw.extend_from_slice(MAGIC);
    raw.extend_from_slice(&streams.start.unwrap_or(i64::MIN).to_le_bytes());
    raw.extend_from_slice(&(n as u32).to_le_bytes());
    raw.push(streams.series.len() as u8);
    for (kind, values) in &streams.series {
        raw.push(*kind as u8);
        if kind.wide() {
            raw.push(8);
            for v in values {
                raw.extend_from_slice(&v.to_le_bytes());
            }
        } else {
            raw.push(4);
            for v in values {
                raw.extend_from_slice(&(*v as f32).to_le_bytes());
            }
        }
    }
    let mut out = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::fast());
    out.write_all(&raw)
        .and_then(|()| out.finish())
        .map_err(|e| Error::Internal(format!("cannot pack streams: {e}")))
}

fn corrupt(why: &str) -> Error {
    Error::Internal(format!("stored streams are damaged ({why})"))
}

/// Unpack streams packed by [`encode`] (laps empty).
pub fn decode(packed: &[u8]) -> Result<Streams> {
    let mut raw = Vec::new();
    flate2::read::DeflateDecoder::new(packed)
        .take((MAX_POINTS * StreamKind::ALL.len() * 8 + 64) as u64)
        .read_to_end(&mut raw)
        .map_err(|_| corrupt("inflate"))?;
    let mut at = 0usize;
    let mut take = |len: usize| -> Result<&[u8]> {
        let slice = raw.get(at..at + len).ok_or_else(|| corrupt("short"))?;
        at += len;
        Ok(slice)
    };
    if take(4)? != MAGIC {
        return Err(corrupt("magic"));
    }
    let start = i64::from_le_bytes(take(8)?.try_into().map_err(|_| corrupt("start"))?);
    let n = u32::from_le_bytes(take(4)?.try_into().map_err(|_| corrupt("count"))?) as usize;
    if n > MAX_POINTS {
        return Err(corrupt("count"));
    }
    let count = take(1)?[0] as usize;
    let mut series = Vec::with_capacity(count);
    for _ in 0..count {
        let head = take(2)?;
        let kind = *StreamKind::ALL
            .get(head[0] as usize)
            .ok_or_else(|| corrupt("kind"))?;
        let width = head[1] as usize;
        let bytes = take(n * width)?;
        let values = match width {
            8 => bytes
                .chunks_exact(8)
                .map(|c| f64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]))
                .collect(),
            4 => bytes
                .chunks_exact(4)
                .map(|c| f64::from(f32::from_le_bytes([c[0], c[1], c[2], c[3]])))
                .collect(),
            _ => return Err(corrupt("width")),
        };
        series.push((kind, values));
    }
    Ok(Streams {
        start: (start != i64::MIN).then_some(start),
        series,
        laps: Vec::new(),
        sport: None,
        utc_offset: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn streams_round_trip_with_gaps() {
        let streams = Streams {
            start: Some(1_800_000_000),
            series: vec![
                (StreamKind::Time, vec![0.0, 1.0, 2.5]),
                (StreamKind::Lat, vec![48.856_613_1, f64::NAN, 48.856_7]),
                (StreamKind::HeartRate, vec![120.0, 121.0, f64::NAN]),
            ],
            laps: Vec::new(),
            sport: None,
            utc_offset: None,
        };
        let back = decode(&encode(&streams).unwrap()).unwrap();
        assert_eq!(back.start, streams.start);
        assert_eq!(back.get(StreamKind::Lat).unwrap()[0], 48.856_613_1);
        assert!(back.get(StreamKind::Lat).unwrap()[1].is_nan());
        assert_eq!(
            back.get(StreamKind::HeartRate).unwrap()[..2],
            [120.0, 121.0]
        );
        assert_eq!(back.len(), 3);
    }

    proptest! {
        #[test]
        fn damaged_blobs_are_errors_not_panics(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
            let _ = decode(&bytes);
        }
    }
}

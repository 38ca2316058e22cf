//! Turns a complete raw deflate stream into one that continues: the final block's BFINAL bit
//! is cleared and an empty stored block (a sync flush) is appended after its end, so that the
//! next block starts on a byte. libdeflate's whole-buffer API always ends its output with a
//! final block; this lets independently compressed blocks be joined into one deflate stream.
//!
//! Finding the final block means walking every block's header and symbols (RFC 1951), without
//! producing output: a small canonical-Huffman reader in the manner of zlib's puff.c.

use std::fmt;

/// The stream is not valid deflate (never for libdeflate's output; checked, not trusted).
#[derive(Debug)]
pub struct BadDeflate(&'static str);

impl fmt::Display for BadDeflate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "deflate stream: {}", self.0)
    }
}

impl std::error::Error for BadDeflate {}

/// Reads bits least significant first, as deflate stores them.
struct Bits<'a> {
    data: &'a [u8],
    pos: usize,
}

impl Bits<'_> {
    fn bit(&mut self) -> Result<u32, BadDeflate> {
        let byte = *self
            .data
            .get(self.pos / 8)
            .ok_or(BadDeflate("ends too soon"))?;
        let bit = (byte >> (self.pos % 8)) & 1;
        self.pos += 1;
        Ok(u32::from(bit))
    }

    fn bits(&mut self, n: u32) -> Result<u32, BadDeflate> {
        let mut value = 0;
        for i in 0..n {
            value |= self.bit()? << i;
        }
        Ok(value)
    }
}

/// A canonical Huffman code: how many codes of each length, and the symbols in code order.
struct Huffman {
    counts: [u16; 16],
    symbols: Vec<u16>,
}

impl Huffman {
    fn new(lengths: &[u8]) -> Result<Huffman, BadDeflate> {
        let mut counts = [0u16; 16];
        for &len in lengths {
            counts[usize::from(len)] += 1;
        }
        counts[0] = 0;
        let mut offsets = [0u16; 16];
        for len in 1..15 {
            offsets[len + 1] = offsets[len] + counts[len];
        }
        let mut symbols = vec![0u16; lengths.len()];
        for (symbol, &len) in lengths.iter().enumerate() {
            if len != 0 {
                let slot = &mut offsets[usize::from(len)];
                symbols[usize::from(*slot)] = symbol as u16;
                *slot += 1;
            }
        }
        Ok(Huffman { counts, symbols })
    }

    fn decode(&self, bits: &mut Bits) -> Result<u16, BadDeflate> {
        // Codes are read most significant bit first, one bit at a time.
        let (mut code, mut first, mut index) = (0i32, 0i32, 0i32);
        for len in 1..16 {
            code |= bits.bit()? as i32;
            let count = i32::from(self.counts[len]);
            if code - count < first {
                let at = usize::try_from(index + (code - first)).map_err(|_| BadDeflate("code"))?;
                return self.symbols.get(at).copied().ok_or(BadDeflate("code"));
            }
            index += count;
            first += count;
            first <<= 1;
            code <<= 1;
        }
        Err(BadDeflate("no such code"))
    }
}

const LENGTH_EXTRA: [u32; 29] = [
    0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0,
];
const DIST_EXTRA: [u32; 30] = [
    0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13,
    13,
];
const CODE_LENGTH_ORDER: [usize; 19] = [
    16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15,
];

/// Skips the symbols of a Huffman block up to and including its end-of-block code.
fn skip_symbols(bits: &mut Bits, lit: &Huffman, dist: &Huffman) -> Result<(), BadDeflate> {
    loop {
        let symbol = lit.decode(bits)?;
        match symbol {
            0..=255 => {}
            256 => return Ok(()),
            _ => {
                let extra = LENGTH_EXTRA
                    .get(usize::from(symbol - 257))
                    .ok_or(BadDeflate("length code"))?;
                bits.bits(*extra)?;
                let d = dist.decode(bits)?;
                let extra = DIST_EXTRA
                    .get(usize::from(d))
                    .ok_or(BadDeflate("distance code"))?;
                bits.bits(*extra)?;
            }
        }
    }
}

fn fixed_codes() -> Result<(Huffman, Huffman), BadDeflate> {
    let mut lengths = [0u8; 288];
    lengths[..144].fill(8);
    lengths[144..256].fill(9);
    lengths[256..280].fill(7);
    lengths[280..].fill(8);
    Ok((Huffman::new(&lengths)?, Huffman::new(&[5u8; 30])?))
}

fn dynamic_codes(bits: &mut Bits) -> Result<(Huffman, Huffman), BadDeflate> {
    let nlen = bits.bits(5)? as usize + 257;
    let ndist = bits.bits(5)? as usize + 1;
    let ncode = bits.bits(4)? as usize + 4;
    let mut code_lengths = [0u8; 19];
    for &at in &CODE_LENGTH_ORDER[..ncode] {
        code_lengths[at] = bits.bits(3)? as u8;
    }
    let code = Huffman::new(&code_lengths)?;
    let mut lengths = vec![0u8; nlen + ndist];
    let mut i = 0;
    while i < nlen + ndist {
        let symbol = code.decode(bits)?;
        let (value, repeat) = match symbol {
            0..=15 => (symbol as u8, 1),
            16 => {
                let previous = *lengths
                    .get(i.wrapping_sub(1))
                    .ok_or(BadDeflate("repeat first"))?;
                (previous, 3 + bits.bits(2)? as usize)
            }
            17 => (0, 3 + bits.bits(3)? as usize),
            _ => (0, 11 + bits.bits(7)? as usize),
        };
        let end = i + repeat;
        lengths
            .get_mut(i..end)
            .ok_or(BadDeflate("too many lengths"))?
            .fill(value);
        i = end;
    }
    Ok((
        Huffman::new(&lengths[..nlen])?,
        Huffman::new(&lengths[nlen..])?,
    ))
}

/// Clears the final block's BFINAL bit in `stream` (a complete raw deflate stream) and ends
/// it with an empty stored block instead, byte-aligned, so another deflate stream may follow.
pub fn continue_after(stream: &mut Vec<u8>) -> Result<(), BadDeflate> {
    let mut bits = Bits {
        data: stream,
        pos: 0,
    };
    let last_header = loop {
        let header = bits.pos;
        let last = bits.bit()? == 1;
        match bits.bits(2)? {
            0 => {
                bits.pos = bits.pos.div_ceil(8) * 8;
                let len = bits.bits(16)? as usize;
                let nlen = bits.bits(16)? as usize;
                if len != !nlen & 0xffff {
                    return Err(BadDeflate("stored length"));
                }
                bits.pos += len * 8;
                if bits.pos > bits.data.len() * 8 {
                    return Err(BadDeflate("ends too soon"));
                }
            }
            1 => {
                let (lit, dist) = fixed_codes()?;
                skip_symbols(&mut bits, &lit, &dist)?;
            }
            2 => {
                let (lit, dist) = dynamic_codes(&mut bits)?;
                skip_symbols(&mut bits, &lit, &dist)?;
            }
            _ => return Err(BadDeflate("block type 3")),
        }
        if last {
            break header;
        }
    };
    let end = bits.pos;
    stream[last_header / 8] &= !(1 << (last_header % 8));
    // The empty stored block: 3 zero bits (not final, stored), zeros to the byte, then
    // LEN 0x0000 and NLEN 0xffff.
    let aligned = (end + 3).div_ceil(8);
    stream.resize(aligned, 0);
    if !end.is_multiple_of(8) {
        stream[end / 8] &= (1u8 << (end % 8)) - 1;
    }
    stream.extend_from_slice(&[0, 0, 0xff, 0xff]);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn deflate(data: &[u8]) -> Vec<u8> {
        let mut c = libdeflater::Compressor::new(libdeflater::CompressionLvl::new(6).unwrap());
        let mut out = vec![0u8; c.deflate_compress_bound(data.len())];
        let n = c.deflate_compress(data, &mut out).unwrap();
        out.truncate(n);
        out
    }

    fn inflate(raw: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        flate2::read::DeflateDecoder::new(raw)
            .read_to_end(&mut out)
            .unwrap();
        out
    }

    fn pieces() -> Vec<Vec<u8>> {
        let mut x: u32 = 12345;
        let mut random = || {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        };
        let text: Vec<u8> = (0..40_000)
            .flat_map(|i| format!("key-{}: value {}\n", i % 97, i % 13).into_bytes())
            .collect();
        vec![
            Vec::new(),
            b"a".to_vec(),
            b"hello hello hello, short: fixed codes\n".to_vec(),
            (0..200_000).map(|_| random()).collect(),
            text,
            vec![0u8; 300_000],
        ]
    }

    #[test]
    fn joined_streams_inflate_to_the_joined_input() {
        let pieces = pieces();
        // Every piece in front of every other: each kind of final block is continued.
        for head in &pieces {
            for tail in &pieces {
                let mut stream = deflate(head);
                continue_after(&mut stream).unwrap();
                stream.extend(deflate(tail));
                let mut want = head.clone();
                want.extend_from_slice(tail);
                assert_eq!(inflate(&stream), want, "{} + {}", head.len(), tail.len());
            }
        }
    }

    #[test]
    fn a_continued_stream_ends_with_a_sync_marker() {
        for piece in pieces() {
            let mut stream = deflate(&piece);
            continue_after(&mut stream).unwrap();
            assert_eq!(&stream[stream.len() - 4..], &[0, 0, 0xff, 0xff]);
        }
    }

    #[test]
    fn damaged_streams_are_errors_not_panics() {
        let good = deflate(&pieces()[4]);
        for cut in [0, 1, 2, 10, good.len() / 2, good.len() - 1] {
            assert!(
                continue_after(&mut good[..cut].to_vec()).is_err(),
                "cut at {cut}"
            );
        }
        let mut x: u32 = 7;
        for _ in 0..200 {
            let noise: Vec<u8> = (0..64)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 17;
                    x ^= x << 5;
                    x as u8
                })
                .collect();
            let _ = continue_after(&mut noise.clone());
        }
    }
}

//! Sealing: every message between a client and the enclave is encrypted and authenticated with
//! AES-256-GCM under that client's key. The clear header (direction, client, round, model
//! version, nonce) is the associated data, so none of it can be changed without the tag failing,
//! and a message cannot be moved to another client, round, model or direction.
//!
//! Sealed layout: `b"CNS1"`, direction `u8` (0 up, 1 down), client `u32`, round `u32`, model
//! version `u64`, a 12-byte random nonce (all little-endian), then the ciphertext with its
//! 16-byte tag.

use std::path::Path;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use rand::RngCore;

use crate::error::{PrivacyError, Rejection, Result, io};

const MAGIC: &[u8; 4] = b"CNS1";
pub const KEY_BYTES: usize = 32;
pub const HEADER_BYTES: usize = 4 + 1 + 4 + 4 + 8 + 12;
pub const TAG_BYTES: usize = 16;

/// Which way a message goes: an update to the enclave, or the model from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Up,
    Down,
}

/// The clear header of a sealed message, bound to it as associated data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    pub direction: Direction,
    pub client: u32,
    pub round: u32,
    /// The model the update was trained from (or the broadcast model): a digest of its weights.
    pub model: u64,
    pub nonce: [u8; 12],
}

impl Header {
    fn to_bytes(self) -> [u8; HEADER_BYTES] {
        let mut out = [0u8; HEADER_BYTES];
        out[..4].copy_from_slice(MAGIC);
        out[4] = match self.direction {
            Direction::Up => 0,
            Direction::Down => 1,
        };
        out[5..9].copy_from_slice(&self.client.to_le_bytes());
        out[9..13].copy_from_slice(&self.round.to_le_bytes());
        out[13..21].copy_from_slice(&self.model.to_le_bytes());
        out[21..].copy_from_slice(&self.nonce);
        out
    }

    /// Refuses a message going the other way, or sealed for another round than `round`.
    pub fn expect(&self, direction: Direction, round: u32) -> std::result::Result<(), Rejection> {
        if self.direction != direction {
            return Err(Rejection::WrongDirection);
        }
        if self.round != round {
            return Err(Rejection::WrongRound {
                got: self.round,
                want: round,
            });
        }
        Ok(())
    }

    /// The header of a sealed message (not yet authenticated).
    pub fn parse(sealed: &[u8]) -> std::result::Result<Self, Rejection> {
        if sealed.len() < HEADER_BYTES + TAG_BYTES || &sealed[..4] != MAGIC {
            return Err(Rejection::Malformed(format!(
                "{} bytes, not a sealed message",
                sealed.len()
            )));
        }
        let u32_at = |i: usize| u32::from_le_bytes(sealed[i..i + 4].try_into().expect("4 bytes"));
        let direction = match sealed[4] {
            0 => Direction::Up,
            1 => Direction::Down,
            d => return Err(Rejection::Malformed(format!("direction byte {d}"))),
        };
        Ok(Self {
            direction,
            client: u32_at(5),
            round: u32_at(9),
            model: u64::from_le_bytes(sealed[13..21].try_into().expect("8 bytes")),
            nonce: sealed[21..HEADER_BYTES].try_into().expect("12 bytes"),
        })
    }
}

/// One client's AES-256 key.
#[derive(Clone, PartialEq, Eq)]
pub struct Key([u8; KEY_BYTES]);

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Key(..)")
    }
}

impl Key {
    fn cipher(&self) -> Aes256Gcm {
        Aes256Gcm::new(&self.0.into())
    }

    /// Encrypts `plaintext` under this key with a fresh random nonce; the header, filled in
    /// with that nonce, is authenticated too.
    pub fn seal(&self, direction: Direction, client: u32, round: u32, model: u64, plaintext: &[u8]) -> Vec<u8> {
        let mut nonce = [0u8; 12];
        rand::rng().fill_bytes(&mut nonce);
        let header = Header {
            direction,
            client,
            round,
            model,
            nonce,
        }
        .to_bytes();
        let body = self
            .cipher()
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: plaintext,
                    aad: &header,
                },
            )
            .expect("AES-GCM encrypts any message under 64 GiB");
        [header.as_slice(), &body].concat()
    }

    /// Authenticates and decrypts a sealed message: its header and its plaintext.
    pub fn open(&self, sealed: &[u8]) -> std::result::Result<(Header, Vec<u8>), Rejection> {
        let header = Header::parse(sealed)?;
        let (aad, body) = sealed.split_at(HEADER_BYTES);
        let plaintext = self
            .cipher()
            .decrypt(Nonce::from_slice(&header.nonce), Payload { msg: body, aad })
            .map_err(|_| Rejection::Tampered)?;
        Ok((header, plaintext))
    }
}

/// Every client's key, client i's at index i. In deployment each client holds only its own and
/// the enclave all of them (provisioned by attestation); here they sit in one file of the run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keys(Vec<Key>);

impl Keys {
    /// Fresh keys from the operating system's randomness.
    pub fn generate(clients: usize) -> Self {
        let mut rng = rand::rng();
        Self(
            (0..clients)
                .map(|_| {
                    let mut k = [0u8; KEY_BYTES];
                    rng.fill_bytes(&mut k);
                    Key(k)
                })
                .collect(),
        )
    }

    pub fn get(&self, client: u32) -> Option<&Key> {
        self.0.get(client as usize)
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Reads a key file of `clients` keys of 32 bytes each, back to back.
    pub fn read(path: &Path, clients: usize) -> Result<Self> {
        let bytes = std::fs::read(path).map_err(io(path))?;
        if bytes.len() != clients * KEY_BYTES {
            return Err(PrivacyError::Corrupt {
                file: path.to_path_buf(),
                detail: format!(
                    "{} bytes; {clients} clients need {} ({KEY_BYTES} per key)",
                    bytes.len(),
                    clients * KEY_BYTES
                ),
            });
        }
        Ok(Self(
            bytes
                .chunks_exact(KEY_BYTES)
                .map(|c| Key(c.try_into().expect("chunks of 32")))
                .collect(),
        ))
    }

    /// Writes the key file (owner-only on Unix) through a temporary name.
    pub fn write(&self, path: &Path) -> Result<()> {
        let bytes: Vec<u8> = self.0.iter().flat_map(|k| k.0).collect();
        let tmp = path.with_extension("tmp");
        std::fs::write(&tmp, &bytes).map_err(io(&tmp))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o600)).map_err(io(&tmp))?;
        }
        std::fs::rename(&tmp, path).map_err(io(path))
    }
}

-- The algorithm of each device key: the command-line app's keys are
-- Ed25519, which every device had before; the web app's are ECDSA P-256
-- (ES256), the one WebCrypto signs with in every browser. The server
-- verifies a device's signatures with the algorithm its activation named.
ALTER TABLE push_devices ADD COLUMN key_alg TEXT NOT NULL DEFAULT 'Ed25519';

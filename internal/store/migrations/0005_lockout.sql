-- Consecutive second-factor failures across lock periods (NIST SP 800-63B-4
-- section 3.2.2): only a success or a helpdesk unlock resets them. They
-- lengthen each lock, and past the policy's hard limit keep the account
-- locked until an operator unlocks it.
ALTER TABLE users ADD COLUMN total_failures INTEGER NOT NULL DEFAULT 0;

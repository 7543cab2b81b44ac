package admin

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/twofold-mfa/twofold/internal/auth"
	"github.com/twofold-mfa/twofold/internal/store"
)

// Filters are the user directory's filters, as an operator names them.
var Filters = []string{store.FilterNoAuthenticator, store.FilterPending, store.FilterExpired, store.FilterLocked}

// Page sizes of the user directory.
const (
	DefaultPageSize = 50
	MaxPageSize     = 500
	maxSearch       = 128
)

// UserQuery asks for one page of the user directory.
type UserQuery struct {
	// Search matches a prefix of the username or email address, or of
	// the display name from one of its words on ("jan" finds "Anna
	// Jansen"), without regard to case.
	Search string
	Filter string // "" or one of Filters
	Role   string // "": any role; else an organization role (store.Role*)
	After  string // the username the previous page ended with (its Next)
	Limit  int    // 0: DefaultPageSize
}

// Users returns one page of org's users in username order; the page's
// Next, when not empty, is the After of the next page.
func (s *Service) Users(ctx context.Context, org store.Org, q UserQuery) (store.UserPage, error) {
	search, err := labelMax("a search", q.Search, maxSearch)
	if err != nil {
		return store.UserPage{}, err
	}
	if q.Filter != "" && !contains(Filters, q.Filter) {
		return store.UserPage{}, invalid("filter must be one of %s, not %q", strings.Join(Filters, ", "), q.Filter)
	}
	if q.Role != "" {
		if err := checkRole(q.Role); err != nil {
			return store.UserPage{}, err
		}
	}
	switch {
	case q.Limit == 0:
		q.Limit = DefaultPageSize
	case q.Limit < 0 || q.Limit > MaxPageSize:
		return store.UserPage{}, invalid("a page holds 1 to %d users, not %d", MaxPageSize, q.Limit)
	}
	return s.Store.SearchUsers(ctx, store.UserQuery{
		OrgID: org.ID, Search: strings.ToLower(search), Filter: q.Filter, Role: q.Role,
		After: auth.CanonicalUsername(q.After), Limit: q.Limit, Now: s.Clock.Now(),
	})
}

func contains(list []string, s string) bool {
	for _, l := range list {
		if l == s {
			return true
		}
	}
	return false
}

// UserDetail is everything an operator sees of one user.
type UserDetail struct {
	User            store.User
	Tokens          []store.Token
	Enrollments     []store.EnrollmentRow
	BackupCodesLeft int
	// Locked says the user is locked out now (until User.LockedUntil).
	Locked bool
}

// UserDetail finds a user with their tokens, enrollments and backup codes.
func (s *Service) UserDetail(ctx context.Context, org store.Org, username string) (UserDetail, error) {
	u, err := s.User(ctx, org, username)
	if err != nil {
		return UserDetail{}, err
	}
	now := s.Clock.Now()
	d := UserDetail{User: u, Locked: u.LockedUntil.After(now)}
	if d.Tokens, err = s.Store.Tokens(ctx, org.ID, u.ID); err != nil {
		return UserDetail{}, err
	}
	if d.Enrollments, err = s.Store.UserEnrollments(ctx, org.ID, u.ID, now); err != nil {
		return UserDetail{}, err
	}
	if d.BackupCodesLeft, err = s.Store.BackupCodesLeft(ctx, u.ID); err != nil {
		return UserDetail{}, err
	}
	return d, nil
}

// UserFootprint counts what deleting a user would delete with them.
func (s *Service) UserFootprint(ctx context.Context, org store.Org, username string) (store.User, store.Footprint, error) {
	u, err := s.User(ctx, org, username)
	if err != nil {
		return store.User{}, store.Footprint{}, err
	}
	f, err := s.Store.UserFootprint(ctx, org.ID, u.ID)
	return u, f, err
}

// DescribeFootprint says in words what a footprint holds.
func DescribeFootprint(f store.Footprint) string {
	return fmt.Sprintf("%d tokens, %d enrollments, %d challenges, %d sessions, %d backup codes",
		f.Tokens, f.Enrollments, f.Challenges, f.Sessions, f.BackupCodes)
}

// DeleteUser deletes a user for good, with every row that refers to
// them, in one audited transaction, and reports what it deleted. The
// audit log keeps the user's events.
func (s *Service) DeleteUser(ctx context.Context, org store.Org, username string) (store.Footprint, error) {
	u, f, err := s.UserFootprint(ctx, org, username)
	if err != nil {
		return store.Footprint{}, err
	}
	e := s.event(org.ID, "user.delete", org.Slug+"/"+u.Username)
	e.Detail = DescribeFootprint(f)
	err = s.Store.DeleteUser(ctx, org.ID, u.ID, e)
	if errors.Is(err, store.ErrNotFound) {
		return store.Footprint{}, invalid("no user %q in organization %q", username, org.Slug)
	}
	return f, err
}

// EnrollmentStatuses are the statuses an enrollment list may be kept to.
var EnrollmentStatuses = []string{store.EnrollmentPending, store.EnrollmentCompleted, store.EnrollmentExpired, store.EnrollmentCancelled}

// Enrollments lists org's enrollments by user; status, when not empty,
// keeps one status. An enrollment is expired when it is pending past its
// expiry: that is computed, not stored, so no job is needed.
func (s *Service) Enrollments(ctx context.Context, org store.Org, status string) ([]store.EnrollmentRow, error) {
	if status != "" && !contains(EnrollmentStatuses, status) {
		return nil, invalid("status must be one of %s, not %q", strings.Join(EnrollmentStatuses, ", "), status)
	}
	return s.Store.Enrollments(ctx, org.ID, status, s.Clock.Now())
}

// Inviter mails a user the enrollment link of a token of type typ;
// compose.Mailer is one.
type Inviter interface {
	Invite(ctx context.Context, org store.Org, u store.User, typ, link string, expires time.Time) error
}

// RolloutOptions says how to roll out authenticators.
type RolloutOptions struct {
	Type        string        // "totp" (default) or "email"
	RemindAfter time.Duration // a pending invitation sent longer ago is sent again; 0: 72h
	DryRun      bool          // plan and report only
	// Users, when not nil, limits the rollout to these users (canonical
	// usernames), for instance the ones an import just added; the others
	// are left out of the report too.
	Users []string
	// Progress, when not nil, is told after each user how many of the
	// users to invite or remind are done.
	Progress func(done, total int)
}

// RolloutEntry is one user in a rollout's report.
type RolloutEntry struct {
	Username, Email string
	Serial          string    // the token invited to, or reminded of
	SentAt          time.Time // when the invitation was sent (last)
	Expires         time.Time // when its link stops working
	Err             string    // why it failed, for Failed
}

// RolloutReport says what a rollout did (or, dry, would do).
type RolloutReport struct {
	Invited  []RolloutEntry // assigned a token and mailed the invitation
	Reminded []RolloutEntry // sent their pending (or expired) invitation again
	// Outstanding: still without an authenticator.
	Waiting   []RolloutEntry // invited less than RemindAfter ago
	NoEmail   []RolloutEntry // no email address to send the invitation to
	Suspended []RolloutEntry // an authenticator suspended or locked: a helpdesk case
	Failed    []RolloutEntry // the invitation could not be made or sent
}

// Rollout invites every active user with an email address who has no
// authenticator and no pending invitation: each is assigned a token of
// opt.Type and mailed its link by inv. Pending invitations sent longer
// than opt.RemindAfter ago, and expired ones, are sent again
// (ResendEnrollment). Each invitation is its own audited change, so an
// interrupted rollout keeps what it did and a second run goes on from
// there. The report also names who stays outstanding. A dry run changes
// nothing and reports what would be done.
func (s *Service) Rollout(ctx context.Context, org store.Org, inv Inviter, opt RolloutOptions) (RolloutReport, error) {
	switch opt.Type {
	case "":
		opt.Type = "totp"
	case "totp", "email":
	default:
		return RolloutReport{}, invalid("a rollout assigns totp or email tokens, not %q", opt.Type)
	}
	switch {
	case opt.RemindAfter == 0:
		opt.RemindAfter = 72 * time.Hour
	case opt.RemindAfter < time.Minute:
		return RolloutReport{}, invalid("remind after must be at least a minute, not %s", opt.RemindAfter)
	}
	now := s.Clock.Now()
	users, err := s.Store.UnenrolledUsers(ctx, org.ID)
	if err != nil {
		return RolloutReport{}, err
	}
	ens, err := s.Store.Enrollments(ctx, org.ID, "", now)
	if err != nil {
		return RolloutReport{}, err
	}
	// Each user's invitation that counts: a pending one over an expired
	// one, and of those the one sent last.
	open := map[int64]store.EnrollmentRow{}
	for _, en := range ens {
		if en.Status != store.EnrollmentPending && en.Status != store.EnrollmentExpired {
			continue
		}
		cur, ok := open[en.UserID]
		if !ok || rank(en) > rank(cur) || rank(en) == rank(cur) && en.LastSentAt.After(cur.LastSentAt) {
			open[en.UserID] = en
		}
	}

	var r RolloutReport
	var invite, remind []store.Unenrolled
	var only map[string]bool
	if opt.Users != nil {
		only = make(map[string]bool, len(opt.Users))
		for _, u := range opt.Users {
			only[u] = true
		}
	}
	for _, u := range users {
		if only != nil && !only[u.Username] {
			continue
		}
		entry := RolloutEntry{Username: u.Username, Email: u.Email}
		en, pending := open[u.ID]
		if pending {
			entry.Serial, entry.SentAt, entry.Expires = en.Serial, en.LastSentAt, en.ExpiresAt
		}
		switch {
		case u.Suspended:
			r.Suspended = append(r.Suspended, entry)
		case u.Email == "":
			r.NoEmail = append(r.NoEmail, entry)
		case !pending:
			invite = append(invite, u)
			r.Invited = append(r.Invited, entry)
		case en.Status == store.EnrollmentExpired || !now.Before(en.LastSentAt.Add(opt.RemindAfter)):
			remind = append(remind, u)
			r.Reminded = append(r.Reminded, entry)
		default:
			r.Waiting = append(r.Waiting, entry)
		}
	}
	if opt.DryRun {
		return r, nil
	}

	total, done := len(invite)+len(remind), 0
	progress := func() {
		done++
		if opt.Progress != nil {
			opt.Progress(done, total)
		}
	}
	var invited, reminded []RolloutEntry
	for i, u := range invite {
		entry, err := s.rolloutOne(ctx, org, inv, u, func(username string) (Enrolled, error) {
			return s.EnrollToken(ctx, org, username, opt.Type, "")
		})
		if err != nil {
			if !errors.Is(err, ErrInvalid) && !errors.Is(err, errMail) {
				return r, err
			}
			entry = r.Invited[i]
			entry.Err = err.Error()
			r.Failed = append(r.Failed, entry)
		} else {
			invited = append(invited, entry)
		}
		progress()
	}
	for i, u := range remind {
		serial := r.Reminded[i].Serial
		entry, err := s.rolloutOne(ctx, org, inv, u, func(username string) (Enrolled, error) {
			return s.ResendEnrollment(ctx, org, username, serial)
		})
		if err != nil {
			if !errors.Is(err, ErrInvalid) && !errors.Is(err, errMail) {
				return r, err
			}
			entry = r.Reminded[i]
			entry.Err = err.Error()
			r.Failed = append(r.Failed, entry)
		} else {
			reminded = append(reminded, entry)
		}
		progress()
	}
	r.Invited, r.Reminded = invited, reminded
	e := s.event(org.ID, "enrollment.rollout", org.Slug)
	e.Detail = fmt.Sprintf("type %s: invited %d, reminded %d, waiting %d, no email %d, suspended %d, failed %d",
		opt.Type, len(r.Invited), len(r.Reminded), len(r.Waiting), len(r.NoEmail), len(r.Suspended), len(r.Failed))
	return r, s.Store.Audit(ctx, e)
}

// errMail marks an invitation that was made but could not be mailed.
var errMail = errors.New("not mailed")

// rank orders a user's open invitations: a pending one counts over an
// expired one.
func rank(en store.EnrollmentRow) int {
	if en.Status == store.EnrollmentPending {
		return 1
	}
	return 0
}

// rolloutOne makes one invitation with send and mails it.
func (s *Service) rolloutOne(ctx context.Context, org store.Org, inv Inviter, u store.Unenrolled, send func(string) (Enrolled, error)) (RolloutEntry, error) {
	en, err := send(u.Username)
	if err != nil {
		return RolloutEntry{}, err
	}
	full, err := s.Store.UserByID(ctx, org.ID, u.ID)
	if err != nil {
		return RolloutEntry{}, err
	}
	if err := inv.Invite(ctx, org, full, en.Token.Type, en.Link, en.Expires); err != nil {
		return RolloutEntry{}, fmt.Errorf("%w: %v (the token %s is assigned: retry with twofold token resend %s/%s)", errMail, err, en.Token.Serial, org.Slug, u.Username)
	}
	return RolloutEntry{Username: u.Username, Email: u.Email, Serial: en.Token.Serial, SentAt: s.Clock.Now(), Expires: en.Expires}, nil
}

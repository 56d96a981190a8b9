//! Bank accounts in the trait-first style: commands that refuse invalid operations with the
//! domain's own errors, an application with snapshots, and a process application (a ledger of
//! every account's movements) following it. The backend comes from the environment, as in
//! `dog_school`:
//!
//! ```sh
//! cargo run --example bank_account
//! PERSISTENCE_MODULE=sqlite SQLITE_DBNAME=/tmp/bank.db cargo run --example bank_account
//! ```

use std::fmt;
use std::time::Duration;

use eventsourcing::application::Application;
use eventsourcing::domain::{Aggregate, Event, Root, uuid5_url};
use eventsourcing::persistence::EventQuery;
use eventsourcing::system::{
    App, ProcessApplication, Processing, Received, Runner, RunnerFromEnv, SingleThreadedRunner,
    System,
};
use eventsourcing::{Uuid, app};
use serde::{Deserialize, Serialize};

/// A bank account: its owner, balance and overdraft limit, in whole currency units.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Account {
    owner: String,
    balance: i64,
    overdraft_limit: i64,
    closed: bool,
}

/// What happens to accounts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
enum AccountEvent {
    Opened { owner: String },
    Deposited { amount: i64 },
    Withdrawn { amount: i64 },
    OverdraftLimitSet { limit: i64 },
    Closed,
}

impl Event for AccountEvent {
    const PREFIX: &'static str = "Account";
}

impl Aggregate for Account {
    type Event = AccountEvent;
    fn apply(&mut self, event: &AccountEvent) {
        match event {
            AccountEvent::Opened { owner } => self.owner = owner.clone(),
            AccountEvent::Deposited { amount } => self.balance += amount,
            AccountEvent::Withdrawn { amount } => self.balance -= amount,
            AccountEvent::OverdraftLimitSet { limit } => self.overdraft_limit = *limit,
            AccountEvent::Closed => self.closed = true,
        }
    }
}

/// Why a command was refused.
#[derive(Debug, PartialEq)]
enum AccountError {
    NotPositive(i64),
    Overdrawn {
        balance: i64,
        limit: i64,
        amount: i64,
    },
    Closed,
    NotEmpty(i64),
}

impl fmt::Display for AccountError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotPositive(amount) => write!(f, "amount {amount} is not positive"),
            Self::Overdrawn {
                balance,
                limit,
                amount,
            } => write!(
                f,
                "withdrawing {amount} from {balance} exceeds the overdraft limit {limit}"
            ),
            Self::Closed => f.write_str("the account is closed"),
            Self::NotEmpty(balance) => write!(f, "the balance is {balance}, not 0"),
        }
    }
}

impl std::error::Error for AccountError {}

// Commands: ordinary methods that validate against the state and decide the event.
impl Account {
    fn open(owner: &str) -> Root<Self> {
        Root::create(AccountEvent::Opened {
            owner: owner.into(),
        })
    }

    fn open_and_positive(&self, amount: i64) -> Result<(), AccountError> {
        match (self.closed, amount > 0) {
            (true, _) => Err(AccountError::Closed),
            (false, false) => Err(AccountError::NotPositive(amount)),
            (false, true) => Ok(()),
        }
    }

    fn deposit(&self, amount: i64) -> Result<AccountEvent, AccountError> {
        self.open_and_positive(amount)?;
        Ok(AccountEvent::Deposited { amount })
    }

    fn withdraw(&self, amount: i64) -> Result<AccountEvent, AccountError> {
        self.open_and_positive(amount)?;
        if self.balance - amount < -self.overdraft_limit {
            return Err(AccountError::Overdrawn {
                balance: self.balance,
                limit: self.overdraft_limit,
                amount,
            });
        }
        Ok(AccountEvent::Withdrawn { amount })
    }

    fn set_overdraft_limit(&self, limit: i64) -> Result<AccountEvent, AccountError> {
        match (self.closed, limit >= 0) {
            (true, _) => Err(AccountError::Closed),
            (false, false) => Err(AccountError::NotPositive(limit)),
            (false, true) => Ok(AccountEvent::OverdraftLimitSet { limit }),
        }
    }

    fn close(&self) -> Result<AccountEvent, AccountError> {
        match (self.closed, self.balance) {
            (true, _) => Err(AccountError::Closed),
            (false, 0) => Ok(AccountEvent::Closed),
            (false, balance) => Err(AccountError::NotEmpty(balance)),
        }
    }
}

/// A refused command or a failure of the store.
#[derive(Debug)]
enum BankError {
    Refused(AccountError),
    Store(eventsourcing::Error),
}

impl fmt::Display for BankError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Refused(e) => write!(f, "refused: {e}"),
            Self::Store(e) => write!(f, "{}", e.report()),
        }
    }
}

impl std::error::Error for BankError {}

impl From<AccountError> for BankError {
    fn from(e: AccountError) -> Self {
        Self::Refused(e)
    }
}

impl From<eventsourcing::Error> for BankError {
    fn from(e: eventsourcing::Error) -> Self {
        Self::Store(e)
    }
}

/// The bank: an application with its own set-up (a snapshot every 5 events of an account when
/// it has a snapshot store, `IS_SNAPSHOTTING_ENABLED`), so it implements `App` by hand rather
/// than with `app!`.
struct Bank(Application);

impl App for Bank {
    const NAME: &'static str = "Bank";
    fn from_application(app: Application) -> eventsourcing::Result<Self> {
        match app.snapshotting() {
            true => Ok(Self(app.with_snapshotting_interval::<Account>(5)?)),
            false => Ok(Self(app)),
        }
    }
    fn application(&self) -> &Application {
        &self.0
    }
}

impl Bank {
    fn open_account(&self, owner: &str) -> Result<Uuid, BankError> {
        let mut account = Account::open(owner);
        self.0.save(&mut account)?;
        Ok(account.id())
    }

    /// Runs `command` on account `id` and saves what it decided.
    fn change(
        &self,
        id: Uuid,
        command: impl FnOnce(&Account) -> Result<AccountEvent, AccountError>,
    ) -> Result<(), BankError> {
        let mut account = self.0.get::<Account>(id)?;
        account.execute(command)?;
        self.0.save(&mut account)?;
        Ok(())
    }

    fn deposit(&self, id: Uuid, amount: i64) -> Result<(), BankError> {
        self.change(id, |a| a.deposit(amount))
    }

    fn withdraw(&self, id: Uuid, amount: i64) -> Result<(), BankError> {
        self.change(id, |a| a.withdraw(amount))
    }

    fn set_overdraft_limit(&self, id: Uuid, limit: i64) -> Result<(), BankError> {
        self.change(id, |a| a.set_overdraft_limit(limit))
    }

    fn close(&self, id: Uuid) -> Result<(), BankError> {
        self.change(id, Account::close)
    }

    fn balance(&self, id: Uuid) -> Result<i64, BankError> {
        Ok(self.0.get::<Account>(id)?.balance)
    }
}

/// The ledger's totals of every account's movements.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Totals {
    deposited: i64,
    withdrawn: i64,
    movements: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
enum TotalsEvent {
    Moved { deposited: i64, withdrawn: i64 },
}

impl Event for TotalsEvent {
    const PREFIX: &'static str = "Totals";
}

impl Aggregate for Totals {
    type Event = TotalsEvent;
    fn apply(
        &mut self,
        TotalsEvent::Moved {
            deposited,
            withdrawn,
        }: &TotalsEvent,
    ) {
        self.deposited += deposited;
        self.withdrawn += withdrawn;
        self.movements += 1;
    }
}

fn totals_id() -> Uuid {
    uuid5_url("/ledger/totals")
}

app!(struct Ledger);

impl ProcessApplication for Ledger {
    fn policy(
        &self,
        event: &Received<'_>,
        processing: &mut Processing,
    ) -> eventsourcing::Result<()> {
        let moved = match event.decode::<AccountEvent>()? {
            Some(AccountEvent::Deposited { amount }) => (amount, 0),
            Some(AccountEvent::Withdrawn { amount }) => (0, amount),
            _ => return Ok(()),
        };
        let mut totals = self.get_or::<Totals>(totals_id(), || Root::empty(totals_id()))?;
        totals.trigger(TotalsEvent::Moved {
            deposited: moved.0,
            withdrawn: moved.1,
        });
        processing.collect(totals);
        Ok(())
    }
}

impl Ledger {
    fn totals(&self) -> eventsourcing::Result<Totals> {
        let totals = self.find::<Totals>(totals_id())?;
        Ok(totals.map(Root::into_state).unwrap_or_default())
    }
}

fn main() -> Result<(), BankError> {
    let system = System::builder().pipe::<Bank, Ledger>().build()?;
    let runner = SingleThreadedRunner::builder(system)
        .var("BANK_IS_SNAPSHOTTING_ENABLED", "yes")
        .build();
    runner.start()?;
    let bank = runner.get::<Bank>()?;
    let ledger = runner.get::<Ledger>()?;
    let before = ledger.totals()?;

    let alice = bank.open_account("Alice")?;
    bank.deposit(alice, 100)?;
    bank.withdraw(alice, 30)?;
    // Refused commands record nothing and say why.
    assert!(matches!(
        bank.withdraw(alice, 100),
        Err(BankError::Refused(AccountError::Overdrawn { .. }))
    ));
    assert!(matches!(
        bank.deposit(alice, -5),
        Err(BankError::Refused(AccountError::NotPositive(-5)))
    ));
    bank.set_overdraft_limit(alice, 50)?;
    bank.withdraw(alice, 100)?;
    assert_eq!(bank.balance(alice)?, -30);
    assert!(matches!(
        bank.close(alice),
        Err(BankError::Refused(AccountError::NotEmpty(-30)))
    ));
    bank.deposit(alice, 30)?;
    bank.close(alice)?;
    assert!(matches!(
        bank.deposit(alice, 1),
        Err(BankError::Refused(AccountError::Closed))
    ));

    // Seven events: a snapshot was taken at version 5, and loading starts from it.
    let snapshots = bank
        .0
        .snapshot_recorder()
        .map(|s| s.select_events(alice, &EventQuery::new()));
    let versions: Vec<u64> = snapshots
        .transpose()?
        .unwrap_or_default()
        .iter()
        .map(|s| s.originator_version)
        .collect();
    assert_eq!(versions, [5]);

    // The ledger followed every movement, exactly once.
    let last = bank.0.recorder().max_notification_id()?.unwrap_or(0);
    runner.wait::<Ledger>(Bank::NAME, last, Duration::from_secs(10))?;
    let totals = ledger.totals()?;
    assert_eq!(totals.deposited - before.deposited, 130);
    assert_eq!(totals.withdrawn - before.withdrawn, 130);
    assert_eq!(totals.movements - before.movements, 4);
    Runner::stop(&runner)?;
    println!(
        "Alice's account is closed at 0; the ledger saw {} movements in all",
        totals.movements
    );
    Ok(())
}

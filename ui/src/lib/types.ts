// The generated contract's types under the names the UI uses: `_Serialize` is what Rust sends,
// `_Deserialize` what it accepts. Type-only, so erased at build: tauri.ts stays the one module
// that loads the bindings at run time, and fake.ts and the views share the same shapes.
import type * as B from "./bindings";

export type Activity = B.Activity_Serialize;
export type ActivityDetail = B.ActivityDetail_Serialize;
/** What the lists are asked for: every field stated (null: no filter), so a request reads whole. */
export type ActivityFilter = B.ActivityFilter_Serialize;
export type ActivityListing = B.ActivityListing_Serialize;
export type ListTotals = B.ListTotals;
export type ExportFormat = B.ExportFormat;
export type Exported = B.Exported;
export type ActivityRow = B.ActivityRow_Serialize;
export type AppInfo = B.AppInfo;
export type Attention = B.Attention;
export type AttentionItem = B.AttentionItem;
export type AttentionKind = B.AttentionKind;
/** A sign-in sent to the browser, and whether a browser opened. */
export type SignInStarted = B.SignInStarted;
export type Capabilities = B.Capabilities_Serialize;
export type Connection = B.Connection_Serialize;
export type ConnectionCard = B.ConnectionCard_Serialize;
export type ConnectionState = B.ConnectionState;
export type CopyRef = B.CopyRef_Serialize;
export type CredentialsCheck = B.CredentialsCheck_Serialize;
export type CoreEvent = B.CoreEvent_Serialize;
export type Dashboard = B.Dashboard_Serialize;
export type DeepLinkOutcome = B.DeepLinkOutcome_Serialize;
export type Disconnected = B.Disconnected_Serialize;
export type ErrorCode = B.ErrorCode;
export type Estimate = B.Estimate_Serialize;
export type LinkChoice = B.LinkChoice;
export type NextRun = B.NextRun_Serialize;
export type Order = B.Order;
export type SortKey = B.SortKey;
export type PageRequest = B.PageRequest_Serialize;
export type Period = B.Period;
export type ProviderInfo = B.ProviderInfo_Serialize;
export type ProviderKind = B.ProviderKind;
/** A copy's source: a provider's API or an import. */
export type Source = B.Source;
export type ImportReport = B.ImportReport_Serialize;
export type ImportProgress = B.ImportProgress_Serialize;
export type ImportPick = B.ImportPick;
export type OutcomeCounts = B.OutcomeCounts;
export type RateLimitWindow = B.RateLimitWindow;
export type Redirects = B.Redirects_Serialize;
export type RunPoint = B.RunPoint_Serialize;
export type SchedulerStatus = B.SchedulerStatus_Serialize;
export type Settings = B.Settings_Serialize;
export type SettingsPatch = B.SettingsPatch_Deserialize;
export type SignIn = B.SignIn;
export type Sport = B.Sport;
export type Summary = B.Summary_Serialize;
export type SyncCounters = B.SyncCounters;
export type SyncMode = B.SyncMode;
export type SyncRun = B.SyncRun_Serialize;
export type SyncStatus = B.SyncStatus;
export type SyncTrigger = B.SyncTrigger;
/** How the app runs: real accounts, or every provider the built-in sandbox. */
export type AppMode = "real" | "sandbox";
export type Value = B.Value;
export type VolumeBucket = B.VolumeBucket;
export type RecordingDetail = B.RecordingDetail_Serialize;
export type CopyRecording = B.CopyRecording_Serialize;
export type Shown = B.Shown_Serialize;
export type ScreenSeries = B.ScreenSeries;
export type Lap = B.Lap_Serialize;
export type StreamKind = B.StreamKind;
export type RecordingProgress = B.Progress_Serialize;
export type RecordingStatus = B.RecordingStatus;
export type FileFormat = B.FileFormat;
